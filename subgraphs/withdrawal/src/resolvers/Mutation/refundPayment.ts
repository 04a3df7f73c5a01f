import { requireMerchant } from '@cpg/core/graphql';
import type { MutationResolvers } from '../../generated/resolvers-types';

export const refundPayment: MutationResolvers['refundPayment'] = async (_, args, ctx) => {
  const caller = requireMerchant(ctx.identity, 'WITHDRAWALS_WRITE');
  return ctx.withdrawals.refund(caller, args.input);
};
