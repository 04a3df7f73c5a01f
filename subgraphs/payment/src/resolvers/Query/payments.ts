import { requireMerchant } from '@cpg/core/graphql';
import type { QueryResolvers } from '../../generated/resolvers-types';

/** Merchants list their own payments, newest first; the operator lists everyone's. */
export const payments: QueryResolvers['payments'] = async (_, args, ctx) => {
  const merchantId = ctx.identity.kind === 'operator' ? null : requireMerchant(ctx.identity, 'READ').merchantId;
  return ctx.payments.list(merchantId, args.filter, args.first, args.after);
};
