import { requireOperator } from '@cpg/core/graphql';
import type { MutationResolvers } from '../../generated/resolvers-types';

/** Operator only: the withdrawal ends REJECTED with the reason and its hold is released. */
export const rejectWithdrawal: MutationResolvers['rejectWithdrawal'] = async (_, args, ctx) => {
  requireOperator(ctx.identity);
  return ctx.withdrawals.reject(args.id, args.reason);
};
