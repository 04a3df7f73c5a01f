import type { AddressContext } from '../../context';

export async function network(_: unknown, args: { id: string }, ctx: AddressContext) {
  return ctx.catalogue.network(args.id) ?? null;
}
