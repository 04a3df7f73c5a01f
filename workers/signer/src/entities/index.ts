// The row shapes belong to the key store (shared/src/keys), which queries them; the worker owns
// the tables (migrations) and registers the entities with its ORM.
import { MerchantSeed, SignerKey } from '@cpg/shared/keys';

export { MerchantSeed, SignerKey };
export const entities = [MerchantSeed, SignerKey];
