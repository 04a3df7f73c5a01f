import { type CoinConfig, type NetworkConfig, allNetworks } from '@cpg/chains';
import { codecFor } from '@cpg/chains/codecs';
import type { AddressValidation } from '@cpg/chains';

export type CatalogueNetwork = NetworkConfig & { enabled: boolean };

/**
 * Networks and coins come from configuration (read once at start), not from the database: a
 * network is config. Lookups are by id; unknown ids are simply absent.
 */
export class Catalogue {
  private readonly networks: CatalogueNetwork[];
  private readonly byNetwork = new Map<string, CatalogueNetwork>();
  private readonly byCoin = new Map<string, { coin: CoinConfig; network: CatalogueNetwork }>();

  /**
   * `env` holds the chain settings (CHAIN_RPC_<NETWORK>, DEV_CHAINS, ...); left out, allNetworks
   * reads them from the process (networks.ts is the chain layer's config module).
   */
  constructor(env?: Record<string, string | undefined>) {
    this.networks = allNetworks(env);
    for (const n of this.networks) {
      this.byNetwork.set(n.id, n);
      for (const c of n.coins) this.byCoin.set(c.id, { coin: c, network: n });
    }
  }

  list(): CatalogueNetwork[] {
    return this.networks;
  }

  network(id: string): CatalogueNetwork | undefined {
    return this.byNetwork.get(id);
  }

  coin(id: string): { coin: CoinConfig; network: CatalogueNetwork } | undefined {
    return this.byCoin.get(id);
  }

  /** Pure: the family codec decides; an unknown network is reported as such, not thrown. */
  validate(networkId: string, address: string): AddressValidation {
    const network = this.network(networkId);
    if (!network) return { valid: false, reason: `unknown network ${networkId}` };
    if (address.length > 200) return { valid: false, reason: 'too long to be an address' };
    return codecFor(network.family).validateAddress(network, address);
  }
}
