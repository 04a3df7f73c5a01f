import { requireMerchant } from '@cpg/core/graphql';
import type { AddressContext } from '../../context';

interface Args {
  filter?: { networkId?: string | null; type?: string | null } | null;
  first?: number | null;
  after?: string | null;
}

export async function addresses(_: unknown, args: Args, ctx: AddressContext) {
  // The operator oversees every merchant's addresses; a merchant key lists its own.
  const merchantId = ctx.identity.kind === 'operator' ? null : requireMerchant(ctx.identity, 'READ').merchantId;
  return ctx.addresses.list(merchantId, args.filter, args.first, args.after);
}
