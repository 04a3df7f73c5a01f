import { type InferEntity, defineEntity, p } from '@mikro-orm/core';

export const AddressEntity = defineEntity({
  name: 'Address',
  tableName: 'addresses',
  properties: {
    id: p.uuid().primary(),
    merchantId: p.uuid().fieldName('merchant_id'),
    networkId: p.text().fieldName('network_id'),
    /** The network family: with `address`, the key of the address's one owner (address_owners). */
    family: p.text(),
    /** Normalised by the family codec, so equality is string equality. */
    address: p.text(),
    type: p.text(),
    mode: p.text(),
    /** What the tracker was told to watch when the address was announced. */
    networks: p.array<string>().columnType('text[]'),
    coins: p.array<string>().columnType('text[]'),
    label: p.text().nullable(),
    account: p.text().nullable(),
    derivationIndex: p.integer().fieldName('derivation_index').nullable(),
    keyRequestId: p.uuid().fieldName('key_request_id').nullable(),
    signerKeyId: p.uuid().fieldName('signer_key_id').nullable(),
    createdAt: p.datetime().fieldName('created_at'),
    /** COLD only: PENDING_REVIEW, COOLING_OFF, ACTIVE or REJECTED (null for every other type). */
    coldStatus: p.text().fieldName('cold_status').nullable(),
    /** COLD in COOLING_OFF: when funds may first be forwarded to it. */
    usableFrom: p.datetime().fieldName('usable_from').nullable(),
    coldReasons: p.array<string>().columnType('text[]').fieldName('cold_reasons').nullable(),
    coldDecidedAt: p.datetime().fieldName('cold_decided_at').nullable(),
  },
});
export type AddressRow = InferEntity<typeof AddressEntity>;
