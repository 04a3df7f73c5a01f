import { requireMerchant } from '@cpg/core/graphql';
import type { MutationResolvers } from '../../generated/resolvers-types';

export const createPayment: MutationResolvers['createPayment'] = async (_, args, ctx) => {
  const caller = requireMerchant(ctx.identity, 'PAYMENTS_WRITE');
  return ctx.payments.create(caller, args.input);
};
