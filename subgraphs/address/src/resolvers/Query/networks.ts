import type { AddressContext } from '../../context';

// The network catalogue is public information (the checkout widget shows it too): no key needed.
export async function networks(_: unknown, _args: unknown, ctx: AddressContext) {
  return ctx.catalogue.list();
}
