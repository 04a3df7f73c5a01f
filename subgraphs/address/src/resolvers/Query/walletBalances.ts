import { requireMerchant } from '@cpg/core/graphql';
import type { AddressContext } from '../../context';

/** On-chain balances of the merchant's own addresses, read from the network's node now. */
export async function walletBalances(_: unknown, args: { networkId: string }, ctx: AddressContext) {
  const caller = requireMerchant(ctx.identity, 'READ');
  return ctx.collection.walletBalances(caller.merchantId, args.networkId);
}
