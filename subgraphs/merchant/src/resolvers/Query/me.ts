import { requireMerchant } from '@cpg/core/graphql';
import type { QueryResolvers } from '../../generated/resolvers-types';

export const me: QueryResolvers['me'] = async (_, __, ctx) => {
  const caller = requireMerchant(ctx.identity, 'READ');
  return ctx.merchants.requireMerchant(caller.merchantId);
};
