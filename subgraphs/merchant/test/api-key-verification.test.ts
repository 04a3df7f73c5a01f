// The merchant side of API-key verification on real Postgres and NATS: what the bus request must
// carry, what the table keeps, what the logs and error replies may show, and how rows that stored
// sha256(key) before proofs existed keep working.
import { createHash, randomUUID } from 'node:crypto';
import { JSONCodec } from 'nats';
import { Bus } from '@cpg/core/bus';
import { type MikroORM, openOrm } from '@cpg/core/db';
import { type MerchantIdentity, apiKeyProof } from '@cpg/core/graphql';
import { createLogger } from '@cpg/core/logger';
import { withPg } from '@cpg/devkit/services';
import { type TestEnv, createTestEnv } from '@cpg/devkit/testing';
import { SCHEMA, migrations } from '../migrations';
import { entities } from '../src/entities';
import { serveApiKeyVerification } from '../src/rpc/verify-api-key';
import { MerchantService } from '../src/services/merchants';

const codec = JSONCodec();
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

let env: TestEnv;
let orm: MikroORM;
let merchantBus: Bus;
let gatewayBus: Bus;
// Every line the merchant's bus writes, at every level.
const logLines: string[] = [];

beforeAll(async () => {
  env = await createTestEnv();
  orm = await openOrm({ databaseUrl: env.databaseUrl, schema: SCHEMA, entities, migrations, log: env.log });
  const log = createLogger('merchant-test', 'trace', { write: (line: string) => void logLines.push(line) });
  merchantBus = await Bus.connect({ url: env.natsUrl, namespace: env.namespace, name: 'merchant', log });
  gatewayBus = await Bus.connect({ url: env.natsUrl, namespace: env.namespace, name: 'gateway', log: env.log });
  serveApiKeyVerification(merchantBus, orm);
  await merchantBus.nc.flush();
});

afterAll(async () => {
  await gatewayBus?.close();
  await merchantBus?.close();
  await orm?.close();
  await env?.cleanup();
});

async function newMerchant(): Promise<{ merchantId: string; keyId: string; secret: string; prefix: string }> {
  const { merchant, apiKey, secret } = await new MerchantService(orm.em.fork()).createMerchant('Shop');
  return { merchantId: merchant.id, keyId: apiKey.id, secret, prefix: apiKey.prefix };
}

const ask = (secret: string) => gatewayBus.request('merchant.verify_api_key', { prefix: secret.slice(4, 12), proof: apiKeyProof(secret) });

/** A request as raw bytes, bypassing the typed client: what a buggy or old gateway could send. */
async function askRaw(body: unknown): Promise<string> {
  const res = await gatewayBus.nc.request(gatewayBus.rpcSubject('merchant.verify_api_key'), codec.encode(body), { timeout: 2000 });
  return new TextDecoder().decode(res.data);
}

describe('merchant.verify_api_key', () => {
  it('answers a key by its prefix and proof', async () => {
    const m = await newMerchant();
    expect(await ask(m.secret)).toEqual({ ok: true, merchantId: m.merchantId, keyId: m.keyId, scopes: expect.arrayContaining(['READ']) });
  });

  it('refuses a wrong key with a valid prefix, and an unknown prefix, alike', async () => {
    const m = await newMerchant();
    const wrong = m.secret.slice(0, 13) + (m.secret[13] === 'A' ? 'B' : 'A') + m.secret.slice(14);
    expect(await ask(wrong)).toEqual({ ok: false, reason: 'unknown API key' });
    expect(await ask(`cpg_zzzzzzzz${m.secret.slice(12)}`)).toEqual({ ok: false, reason: 'unknown API key' });
    // The stored hash is no proof: a copy of the table cannot answer for the key.
    const [row] = await orm.em.getConnection().execute(`select proof_hash from "${SCHEMA}".api_keys where id = ?`, [m.keyId]);
    expect(await gatewayBus.request('merchant.verify_api_key', { prefix: m.prefix, proof: row.proof_hash })).toEqual({ ok: false, reason: 'unknown API key' });
  });

  it('refuses a revoked key', async () => {
    const m = await newMerchant();
    const caller: MerchantIdentity = { kind: 'merchant', merchantId: m.merchantId, keyId: m.keyId, scopes: ['READ', 'SETTINGS_WRITE'] };
    const service = new MerchantService(orm.em.fork());
    const { apiKey, secret } = await service.createApiKey(caller, { label: 'ci', scopes: ['READ'] });
    expect(await ask(secret)).toMatchObject({ ok: true, keyId: apiKey.id });
    await service.revokeApiKey(caller, apiKey.id);
    expect(await ask(secret)).toEqual({ ok: false, reason: 'API key revoked' });
    expect(await ask(m.secret)).toMatchObject({ ok: true, keyId: m.keyId });
  });

  it('stores neither the key, nor its plain hash, nor its proof', async () => {
    const m = await newMerchant();
    const rows = await orm.em.getConnection().execute(`select * from "${SCHEMA}".api_keys where id = ?`, [m.keyId]);
    const stored = JSON.stringify(rows);
    expect(rows).toHaveLength(1);
    expect(stored).not.toContain(m.secret.slice(13));
    expect(stored).not.toContain(sha256(m.secret));
    expect(stored).not.toContain(apiKeyProof(m.secret));
    expect(rows[0].proof_hash).toBe(
      createHash('sha256')
        .update(Buffer.from(apiKeyProof(m.secret), 'hex'))
        .digest('hex'),
    );
  });

  it('refuses a request carrying the key itself, without echoing it in the reply or the logs', async () => {
    const m = await newMerchant();
    logLines.length = 0;
    for (const body of [{ secret: m.secret }, { prefix: m.prefix, proof: m.secret }, { prefix: m.secret, proof: m.secret }]) {
      const reply = await askRaw(body);
      expect(JSON.parse(reply)).toMatchObject({ ok: false });
      expect(reply).not.toContain(m.secret.slice(13));
    }
    const logged = logLines.join('');
    expect(logged).toContain('rpc handler failed');
    expect(logged).not.toContain(m.secret.slice(13));
  });

  // Last: it takes the table away. A database error message quotes its SQL, and the bus logs and
  // returns that message, so only the public prefix may ever be part of the query.
  it('a failing lookup shows the prefix at most, never the proof', async () => {
    const m = await newMerchant();
    logLines.length = 0;
    await withPg(env.databaseUrl, (c) => c.query(`alter table "${SCHEMA}".api_keys rename to api_keys_away`));
    await expect(ask(m.secret)).rejects.toThrow(/rpc merchant.verify_api_key failed/);
    const logged = logLines.join('');
    expect(logged).toContain('rpc handler failed');
    expect(logged).not.toContain(apiKeyProof(m.secret));
    expect(logged).not.toContain(m.secret.slice(13));
  });
});

describe('keys issued before proofs', () => {
  it('still work after the migration, which drops their plain hash', async () => {
    const old = await createTestEnv();
    try {
      const before = migrations.filter((m) => m.name < '0004');
      const legacy = await openOrm({ databaseUrl: old.databaseUrl, schema: SCHEMA, entities, migrations: before, log: old.log });
      const merchantId = randomUUID();
      const keyId = randomUUID();
      const secret = `cpg_legacyk2_${'Q'.repeat(43)}`;
      const conn = legacy.em.getConnection();
      await conn.execute(`insert into "${SCHEMA}".merchants (id, name) values (?, 'Old shop')`, [merchantId]);
      await conn.execute(
        `insert into "${SCHEMA}".api_keys (id, merchant_id, label, prefix, secret_hash, scopes) values (?, ?, 'default', 'legacyk2', ?, '{READ}')`,
        [keyId, merchantId, sha256(secret)],
      );
      await legacy.close();

      const migrated = await openOrm({ databaseUrl: old.databaseUrl, schema: SCHEMA, entities, migrations, log: old.log });
      try {
        const service = new MerchantService(migrated.em.fork());
        expect(await service.verifyApiKey('legacyk2', apiKeyProof(secret))).toEqual({ ok: true, merchantId, keyId, scopes: ['READ'] });
        expect(await service.verifyApiKey('legacyk2', apiKeyProof(secret.slice(0, -1) + 'R'))).toEqual({ ok: false, reason: 'unknown API key' });
        const columns = await migrated.em
          .getConnection()
          .execute(`select column_name from information_schema.columns where table_schema = ? and table_name = 'api_keys'`, [SCHEMA]);
        expect((columns as { column_name: string }[]).map((c) => c.column_name)).not.toContain('secret_hash');
      } finally {
        await migrated.close();
      }
    } finally {
      await old.cleanup();
    }
  });
});
