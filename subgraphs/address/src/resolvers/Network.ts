import type { AddressContext } from '../context';
import type { CatalogueNetwork } from '../domain/catalogue';

export const Network = {
  __resolveReference: (ref: { id: string }, ctx: AddressContext) => ctx.catalogue.network(ref.id) ?? null,
  nativeCoin: (n: CatalogueNetwork) => ({ coin: n.nativeCoin, network: n }),
  coins: (n: CatalogueNetwork) => n.coins.map((coin) => ({ coin, network: n })),
  // The tracker reports scanned height and liveness; until it runs, nothing is known, and a
  // network whose chain nobody watches is not available for payments.
  status: () => ({ available: false, scannedHeight: null, tipHeight: null, lagBlocks: null, updatedAt: null }),
};
