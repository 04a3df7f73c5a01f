export { CoinCatalogue, type CoinEntry } from '@cpg/chains';
