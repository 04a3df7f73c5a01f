import { requireMerchant } from '@cpg/core/graphql';
import type { AddressContext } from '../../context';

export async function validateAddress(_: unknown, args: { networkId: string; address: string }, ctx: AddressContext) {
  requireMerchant(ctx.identity, 'READ');
  const r = ctx.catalogue.validate(args.networkId, args.address);
  return { valid: r.valid, normalized: r.normalized ?? null, reason: r.reason ?? null };
}
