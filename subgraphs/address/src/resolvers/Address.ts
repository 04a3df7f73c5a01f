import type { AddressContext } from '../context';
import type { AddressRow } from '../entities';

export const Address = {
  /**
   * Federation entry: merchants resolve only their own addresses (another merchant's is null,
   * as if it did not exist), the operator any. Anonymous callers reach this only through a
   * field another subgraph already authorised (the checkout's payment address, by its id).
   */
  __resolveReference: (ref: { id: string }, ctx: AddressContext) => ctx.addresses.findVisible(ctx.identity, ref.id),
  network: (a: AddressRow, _: unknown, ctx: AddressContext) => ctx.catalogue.network(a.networkId),
  // Coins dropped from configuration since the address was made are no longer served.
  coins: (a: AddressRow, _: unknown, ctx: AddressContext) => a.coins.flatMap((id) => ctx.catalogue.coin(id) ?? []),
  label: (a: AddressRow) => a.label ?? null,
};
