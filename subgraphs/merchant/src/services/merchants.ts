import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@cpg/core/db';
import { writeOutbox } from '@cpg/core/db';
import { type ApiScope, API_SCOPES, type MerchantIdentity, conflict, notFound } from '@cpg/core/graphql';
import { SCHEMA } from '../../migrations';
import { ApiKey, type ApiKeyRow, Merchant, type MerchantRow } from '../entities';
import { generateApiKeySecret, proofMatches } from '../domain/api-key-secret';
import { grantableScopes } from '../domain/scopes';
import { DEFAULT_SETTINGS, type MerchantSettings, type SettingsPatch, applySettingsPatch, validateKeyLabel, validateMerchantName } from '../domain/settings';

export function settingsOf(m: MerchantRow): MerchantSettings {
  return {
    addressMode: m.addressMode as MerchantSettings['addressMode'],
    withdrawalAggregation: m.withdrawalAggregation as MerchantSettings['withdrawalAggregation'],
    batchMaxSize: m.batchMaxSize,
    batchMaxWaitSeconds: m.batchMaxWaitSeconds,
    paymentExpiryMinutes: m.paymentExpiryMinutes,
    underpaymentTolerance: m.underpaymentTolerance,
  };
}

/**
 * Merchant and API-key use cases. Each write runs in one transaction together with its outbox
 * event, and `onCommitted` wakes the relay so the event leaves without waiting for its tick.
 */
export class MerchantService {
  constructor(
    private readonly em: EntityManager,
    private readonly onCommitted: () => void = () => undefined,
  ) {}

  async createMerchant(rawName: string): Promise<{ merchant: MerchantRow; apiKey: ApiKeyRow; secret: string }> {
    const name = validateMerchantName(rawName);
    const now = new Date();
    const key = generateApiKeySecret();
    const result = await this.em.transactional(async (tx) => {
      const merchant = tx.create(Merchant, { id: randomUUID(), name, ...DEFAULT_SETTINGS, createdAt: now, updatedAt: now });
      // api_keys references merchants by a plain column, so the merchant row must exist first.
      await tx.flush();
      const apiKey = tx.create(ApiKey, {
        id: randomUUID(),
        merchantId: merchant.id,
        label: 'default',
        prefix: key.prefix,
        proofHash: key.proofHash,
        scopes: [...API_SCOPES],
        createdAt: now,
        lastUsedAt: null,
        revokedAt: null,
      });
      await tx.flush();
      await writeOutbox(tx, SCHEMA, 'merchant.created', { merchantId: merchant.id, name }, { key: merchant.id });
      await writeOutbox(tx, SCHEMA, 'merchant.api_key_created', { merchantId: merchant.id, keyId: apiKey.id, scopes: apiKey.scopes }, { key: merchant.id });
      return { merchant, apiKey, secret: key.secret };
    });
    this.onCommitted();
    return result;
  }

  async getMerchant(id: string): Promise<MerchantRow | null> {
    return this.em.findOne(Merchant, { id });
  }

  async requireMerchant(id: string): Promise<MerchantRow> {
    const m = await this.getMerchant(id);
    if (!m) throw notFound('merchant');
    return m;
  }

  async listApiKeys(merchantId: string): Promise<ApiKeyRow[]> {
    return this.em.find(ApiKey, { merchantId }, { orderBy: { createdAt: 'asc', id: 'asc' } });
  }

  async createApiKey(caller: MerchantIdentity, input: { label: string; scopes: string[] }): Promise<{ apiKey: ApiKeyRow; secret: string }> {
    const label = validateKeyLabel(input.label);
    const scopes = grantableScopes(caller.scopes, input.scopes);
    const key = generateApiKeySecret();
    const apiKey = await this.em.transactional(async (tx) => {
      const row = tx.create(ApiKey, {
        id: randomUUID(),
        merchantId: caller.merchantId,
        label,
        prefix: key.prefix,
        proofHash: key.proofHash,
        scopes,
        createdAt: new Date(),
        lastUsedAt: null,
        revokedAt: null,
      });
      await tx.flush();
      await writeOutbox(tx, SCHEMA, 'merchant.api_key_created', { merchantId: caller.merchantId, keyId: row.id, scopes }, { key: caller.merchantId });
      return row;
    });
    this.onCommitted();
    return { apiKey, secret: key.secret };
  }

  /** Idempotent: revoking a revoked key returns it unchanged and emits nothing. */
  async revokeApiKey(caller: MerchantIdentity, keyId: string): Promise<ApiKeyRow> {
    const row = await this.em.transactional(async (tx) => {
      const key = await tx.findOne(ApiKey, { id: keyId, merchantId: caller.merchantId }, { lockMode: 4 /* pessimistic write */ });
      if (!key) throw notFound('API key');
      if (key.revokedAt) return key;
      const others = await tx.count(ApiKey, { merchantId: caller.merchantId, revokedAt: null, id: { $ne: key.id } });
      // A merchant with no live key is locked out of its own account; make them create one first.
      if (others === 0) throw conflict('cannot revoke the last active API key: create another key first');
      key.revokedAt = new Date();
      await tx.flush();
      await writeOutbox(tx, SCHEMA, 'merchant.api_key_revoked', { merchantId: caller.merchantId, keyId: key.id }, { key: caller.merchantId });
      return key;
    });
    this.onCommitted();
    return row;
  }

  async updateSettings(merchantId: string, patch: SettingsPatch): Promise<MerchantRow> {
    const merchant = await this.em.transactional(async (tx) => {
      const m = await tx.findOne(Merchant, { id: merchantId }, { lockMode: 4 });
      if (!m) throw notFound('merchant');
      const next = applySettingsPatch(settingsOf(m), patch);
      Object.assign(m, next, { updatedAt: new Date() });
      await tx.flush();
      await writeOutbox(tx, SCHEMA, 'merchant.settings_updated', { merchantId, settings: { ...next } }, { key: merchantId });
      return m;
    });
    this.onCommitted();
    return merchant;
  }

  /**
   * Called by the gateway (request-reply) for every request it has not cached, with the key's
   * prefix and proof, never the key. Read-only apart from `last_used_at`, which is refreshed at
   * most once a minute per key to spare writes. Only the prefix reaches SQL, so no database error
   * message (which the bus logs and returns) can carry the proof.
   */
  async verifyApiKey(
    prefix: string,
    proof: string,
  ): Promise<{ ok: true; merchantId: string; keyId: string; scopes: ApiScope[] } | { ok: false; reason: string }> {
    const key = await this.em.findOne(ApiKey, { prefix });
    if (!key || !proofMatches(proof, key.proofHash)) return { ok: false, reason: 'unknown API key' };
    if (key.revokedAt) return { ok: false, reason: 'API key revoked' };
    if (!key.lastUsedAt || Date.now() - key.lastUsedAt.getTime() > 60_000) {
      await this.em.nativeUpdate(ApiKey, { id: key.id }, { lastUsedAt: new Date() });
    }
    return { ok: true, merchantId: key.merchantId, keyId: key.id, scopes: key.scopes as ApiScope[] };
  }
}
