import type { CoinConfig } from '@cpg/chains';
import type { CatalogueNetwork } from '../domain/catalogue';

/**
 * What the resolvers hand down as a `Coin`: the catalogue's entry with its network, so `network`
 * needs no second look-up. codegen.yml maps the GraphQL type to it.
 */
export interface CatalogueCoin {
  coin: CoinConfig;
  network: CatalogueNetwork;
}
