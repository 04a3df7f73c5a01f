import { requireMerchant } from '@cpg/core/graphql';
import type { QueryResolvers } from '../../generated/resolvers-types';

export const addresses: QueryResolvers['addresses'] = async (_, args, ctx) => {
  // The operator oversees every merchant's addresses; a merchant key lists its own.
  const merchantId = ctx.identity.kind === 'operator' ? null : requireMerchant(ctx.identity, 'READ').merchantId;
  return ctx.addresses.list(merchantId, args.filter, args.first, args.after);
};
