import { requireMerchant } from '@cpg/core/graphql';
import type { QueryResolvers } from '../../generated/resolvers-types';

/** Funds the collector leaves at the merchant's USER addresses for now, each with why. */
export const awaitingCollection: QueryResolvers['awaitingCollection'] = async (_, args, ctx) => {
  const caller = requireMerchant(ctx.identity, 'READ');
  return ctx.collection.listAwaiting(caller.merchantId, args.networkId);
};
