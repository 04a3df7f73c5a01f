import { requireMerchant } from '@cpg/core/graphql';
import type { QueryResolvers } from '../../generated/resolvers-types';

/** On-chain balances of the merchant's own addresses, read from the network's node now. */
export const walletBalances: QueryResolvers['walletBalances'] = async (_, args, ctx) => {
  const caller = requireMerchant(ctx.identity, 'READ');
  return ctx.collection.walletBalances(caller.merchantId, args.networkId);
};
