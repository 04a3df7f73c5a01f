import { PUBLIC_FACE, PublicRefs, forbidden, isPublicFace, publicFace } from '@cpg/core/graphql';
import type { AddressContext } from '../context';
import type { AddressRow } from '../entities';

/**
 * Address references. A checkout reader (anonymous, or a key of another merchant) reaches the
 * payment's address through a key the payment subgraph sealed (PublicRefs): it gets the public
 * face (the address string, network, coins) with the sealed key as `id`. A bare id resolves only
 * for its merchant and the operator (docs/limits.md, "Anonymous readers").
 */
export async function resolveAddressReference(ref: { id: string }, ctx: AddressContext): Promise<AddressRow | null> {
  if (PublicRefs.isSealed(ref.id)) {
    const id = ctx.refs.open('Address', ref.id);
    const row = id ? await ctx.addresses.findVisible({ kind: 'operator' }, id) : null;
    return row ? publicFace(row, ref.id) : null;
  }
  if (ctx.identity.kind === 'anonymous') return null;
  return ctx.addresses.findVisible(ctx.identity, ref.id);
}

export const addressId = (a: AddressRow): string => (isPublicFace(a) ? a[PUBLIC_FACE] : a.id);

/** Wraps a field resolver of Address so that it refuses the public face. */
export function ownerOnly<A extends unknown[], R>(coordinate: string, resolve: (a: AddressRow, ...rest: A) => R) {
  return (a: AddressRow, ...rest: A): R => {
    if (isPublicFace(a)) throw forbidden(`${coordinate} is visible to the address's merchant only`);
    return resolve(a, ...rest);
  };
}
