import { requireMerchant } from '@cpg/core/graphql';
import type { AddressContext } from '../../context';

/** The collector's sweep steps (top-ups, sweeps, cold forwards) of the merchant, newest first. */
export async function sweeps(_: unknown, args: { first?: number | null; after?: string | null }, ctx: AddressContext) {
  const caller = requireMerchant(ctx.identity, 'READ');
  return ctx.collection.listSweeps(caller.merchantId, args.first, args.after);
}
