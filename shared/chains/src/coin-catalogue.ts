import { allNetworks } from './networks';
import type { CoinConfig, NetworkConfig } from './types';

export type CoinEntry = { coin: CoinConfig; network: NetworkConfig & { enabled: boolean } };

/** Every configured coin by id with its network (enabled or not): configuration, read once at start. */
export class CoinCatalogue {
  private readonly byCoin = new Map<string, CoinEntry>();
  // `env` defaults to the process environment through allNetworks (networks.ts is the chain layer's config module).
  constructor(env?: Record<string, string | undefined>) {
    for (const network of allNetworks(env)) for (const coin of network.coins) this.byCoin.set(coin.id, { coin, network });
  }
  coin(id: string): CoinEntry | undefined {
    return this.byCoin.get(id);
  }
}
