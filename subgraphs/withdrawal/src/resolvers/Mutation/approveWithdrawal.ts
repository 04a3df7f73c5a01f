import { requireOperator } from '@cpg/core/graphql';
import type { MutationResolvers } from '../../generated/resolvers-types';

/** Operator only: a withdrawal above approvalAbove (or sent to review by screening) goes on. */
export const approveWithdrawal: MutationResolvers['approveWithdrawal'] = async (_, args, ctx) => {
  requireOperator(ctx.identity);
  return ctx.withdrawals.approve(args.id);
};
