import { type InferEntity, defineEntity, p } from '@mikro-orm/core';

/**
 * The key store's rows, in the signer's schema (tables made by workers/signer/migrations). They
 * are defined beside the store rather than in the worker because the store queries them and
 * shared code cannot import from a worker; the worker registers them with its ORM.
 */

/** One BIP39 seed per merchant; every USER address of the merchant derives from it. */
export const MerchantSeed = defineEntity({
  name: 'MerchantSeed',
  tableName: 'merchant_seeds',
  properties: {
    merchantId: p.uuid().primary().fieldName('merchant_id'),
    /** The mnemonic, sealed (see envelope.ts) with the merchant id as associated data. */
    sealed: p.blob().columnType('bytea'),
    createdAt: p.datetime().fieldName('created_at'),
  },
});
export type MerchantSeedRow = InferEntity<typeof MerchantSeed>;

/** A standalone random key (HOT wallet, tokens collector); not derived from the seed. */
export const SignerKey = defineEntity({
  name: 'SignerKey',
  tableName: 'keys',
  properties: {
    id: p.uuid().primary(),
    merchantId: p.uuid().fieldName('merchant_id'),
    networkId: p.text().fieldName('network_id'),
    purpose: p.text(),
    address: p.text(),
    /** The 32-byte private key, sealed with the row's id, merchant, network, purpose and address as associated data. */
    sealed: p.blob().columnType('bytea'),
    /** The caller's idempotency key: a retried create_key finds the key it already made. */
    requestId: p.text().fieldName('request_id').unique(),
    createdAt: p.datetime().fieldName('created_at'),
  },
});
export type SignerKeyRow = InferEntity<typeof SignerKey>;

export const keyStoreEntities = [MerchantSeed, SignerKey];
