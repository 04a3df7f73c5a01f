// The row shapes belong to the key store (shared/chains/src/keys), which queries them; the worker owns
// the tables (migrations) and registers the entities with its ORM.
import { MerchantSeed, SignerKey } from '@cpg/chains/keys';

export { MerchantSeed, SignerKey };
export const entities = [MerchantSeed, SignerKey];
