import { formatAmount } from '@cpg/core/money';
import type { CoinConfig } from '@cpg/chains';
import type { AddressContext } from '../context';
import type { CatalogueNetwork } from '../domain/catalogue';

type CoinRow = { coin: CoinConfig; network: CatalogueNetwork };

export const Coin = {
  __resolveReference: (ref: { id: string }, ctx: AddressContext) => ctx.catalogue.coin(ref.id) ?? null,
  id: (c: CoinRow) => c.coin.id,
  symbol: (c: CoinRow) => c.coin.symbol,
  name: (c: CoinRow) => c.coin.name,
  decimals: (c: CoinRow) => c.coin.decimals,
  network: (c: CoinRow) => c.network,
  contract: (c: CoinRow) => c.coin.contract ?? null,
  minDeposit: (c: CoinRow) => formatAmount(c.coin.minDeposit, c.coin.decimals),
};
