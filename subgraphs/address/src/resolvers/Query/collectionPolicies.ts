import { requireMerchant } from '@cpg/core/graphql';
import type { AddressContext } from '../../context';

/** Every coin of every enabled network: the merchant's policy, or the documented defaults. */
export async function collectionPolicies(_: unknown, _args: unknown, ctx: AddressContext) {
  const caller = requireMerchant(ctx.identity, 'READ');
  return ctx.collection.listPolicies(caller.merchantId);
}
