import { requireMerchant } from '@cpg/core/graphql';
import type { QueryResolvers } from '../../generated/resolvers-types';

/** Every coin of every enabled network: the merchant's policy, or the documented defaults. */
export const collectionPolicies: QueryResolvers['collectionPolicies'] = async (_, _args, ctx) => {
  const caller = requireMerchant(ctx.identity, 'READ');
  return ctx.collection.listPolicies(caller.merchantId);
};
