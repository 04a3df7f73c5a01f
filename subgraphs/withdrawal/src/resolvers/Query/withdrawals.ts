import { requireMerchant } from '@cpg/core/graphql';
import type { QueryResolvers } from '../../generated/resolvers-types';

/** Merchants list their own withdrawals, newest first; the operator lists everyone's. */
export const withdrawals: QueryResolvers['withdrawals'] = async (_, args, ctx) => {
  const merchantId = ctx.identity.kind === 'operator' ? null : requireMerchant(ctx.identity, 'READ').merchantId;
  return ctx.withdrawals.list(merchantId, args.filter, args.first, args.after);
};
