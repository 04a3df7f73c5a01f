import type { CoinConfig } from '@cpg/chains';
import type { CatalogueNetwork } from '../domain/catalogue';

/**
 * What a `Coin` resolves from (services build it, resolvers hand it down): the catalogue's entry with its network, so `network`
 * needs no second look-up. codegen.yml maps the GraphQL type to it.
 */
export interface CatalogueCoin {
  coin: CoinConfig;
  network: CatalogueNetwork;
}
