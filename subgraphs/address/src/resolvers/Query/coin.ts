import type { AddressContext } from '../../context';

export async function coin(_: unknown, args: { id: string }, ctx: AddressContext) {
  return ctx.catalogue.coin(args.id) ?? null;
}
