import { requireMerchant } from '@cpg/core/graphql';
import type { AddressContext } from '../../context';

/** Funds the collector leaves at the merchant's USER addresses for now, each with why. */
export async function awaitingCollection(_: unknown, args: { networkId?: string | null }, ctx: AddressContext) {
  const caller = requireMerchant(ctx.identity, 'READ');
  return ctx.collection.listAwaiting(caller.merchantId, args.networkId);
}
