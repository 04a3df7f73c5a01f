import { requireMerchant } from '@cpg/core/graphql';
import type { MutationResolvers } from '../../generated/resolvers-types';

export const cancelWithdrawal: MutationResolvers['cancelWithdrawal'] = async (_, args, ctx) => {
  const caller = requireMerchant(ctx.identity, 'WITHDRAWALS_WRITE');
  return ctx.withdrawals.cancel(caller, args.id);
};
