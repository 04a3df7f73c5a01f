import { type InferEntity, defineEntity, p } from '@mikro-orm/core';

export const AddressEntity = defineEntity({
  name: 'Address',
  tableName: 'addresses',
  properties: {
    id: p.uuid().primary(),
    merchantId: p.uuid().fieldName('merchant_id'),
    networkId: p.text().fieldName('network_id'),
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
  },
});
export type AddressRow = InferEntity<typeof AddressEntity>;
