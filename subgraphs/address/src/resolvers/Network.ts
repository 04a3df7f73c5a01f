import type { NetworkResolvers } from '../generated/resolvers-types';

export const Network: NetworkResolvers = {
  __resolveReference: (ref, ctx) => ctx.catalogue.network(ref.id) ?? null,
  nativeCoin: (n) => ({ coin: n.nativeCoin, network: n }),
  coins: (n) => n.coins.map((coin) => ({ coin, network: n })),
  status: (n, _, ctx) => ctx.networkStatus.of(n.id),
};
