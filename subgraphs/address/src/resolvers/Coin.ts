import { formatAmount } from '@cpg/core/money';
import type { CoinResolvers } from '../generated/resolvers-types';

export const Coin: CoinResolvers = {
  __resolveReference: (ref, ctx) => ctx.catalogue.coin(ref.id) ?? null,
  id: (c) => c.coin.id,
  symbol: (c) => c.coin.symbol,
  name: (c) => c.coin.name,
  decimals: (c) => c.coin.decimals,
  network: (c) => c.network,
  contract: (c) => c.coin.contract ?? null,
  minDeposit: (c) => formatAmount(c.coin.minDeposit, c.coin.decimals),
};
