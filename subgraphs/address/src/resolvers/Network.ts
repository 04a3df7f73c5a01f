import type { AddressContext } from '../context';
import type { CatalogueNetwork } from '../domain/catalogue';

export const Network = {
  __resolveReference: (ref: { id: string }, ctx: AddressContext) => ctx.catalogue.network(ref.id) ?? null,
  nativeCoin: (n: CatalogueNetwork) => ({ coin: n.nativeCoin, network: n }),
  coins: (n: CatalogueNetwork) => n.coins.map((coin) => ({ coin, network: n })),
  status: (n: CatalogueNetwork, _: unknown, ctx: AddressContext) => ctx.networkStatus.of(n.id),
};
