import { type InferEntity, defineEntity, p } from '@mikro-orm/core';

export const ApiKey = defineEntity({
  name: 'ApiKey',
  tableName: 'api_keys',
  properties: {
    id: p.uuid().primary(),
    merchantId: p.uuid().fieldName('merchant_id'),
    label: p.text(),
    /** Public part of the key, shown in listings and used to find the row. */
    prefix: p.text().unique(),
    /** sha256 of the key's proof (see domain/api-key-secret); neither the key nor the proof is stored. */
    proofHash: p.text().fieldName('proof_hash'),
    scopes: p.array<string>().columnType('text[]'),
    createdAt: p.datetime().fieldName('created_at'),
    lastUsedAt: p.datetime().fieldName('last_used_at').nullable(),
    revokedAt: p.datetime().fieldName('revoked_at').nullable(),
  },
});
export type ApiKeyRow = InferEntity<typeof ApiKey>;
