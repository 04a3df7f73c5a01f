export { CoinCatalogue, type CoinEntry } from '@cpg/shared/chains';
