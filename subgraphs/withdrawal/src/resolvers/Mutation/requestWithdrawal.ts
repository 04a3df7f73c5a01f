import { requireMerchant } from '@cpg/core/graphql';
import type { MutationResolvers } from '../../generated/resolvers-types';

export const requestWithdrawal: MutationResolvers['requestWithdrawal'] = async (_, args, ctx) => {
  const caller = requireMerchant(ctx.identity, 'WITHDRAWALS_WRITE');
  return ctx.withdrawals.request(caller, args.input);
};
