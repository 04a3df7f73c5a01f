import { requireMerchant } from '@cpg/core/graphql';
import type { MutationResolvers } from '../../generated/resolvers-types';

export const cancelPayment: MutationResolvers['cancelPayment'] = async (_, args, ctx) => {
  const caller = requireMerchant(ctx.identity, 'PAYMENTS_WRITE');
  return ctx.payments.cancel(caller, args.id);
};
