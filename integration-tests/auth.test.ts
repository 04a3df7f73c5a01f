import { createHash, randomBytes } from 'node:crypto';
import { type Msg, connect } from 'nats';
import { apiKeyProof } from '@cpg/core/graphql';
import { gql } from '@cpg/devkit/testing';
import { type Stack, startStack } from './support/stack';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

const ME = '{ me { id name settings { addressMode paymentExpiryMinutes underpaymentTolerance } apiKeys { id label prefix scopes revokedAt } } }';
const code = (res: { errors?: { extensions?: { code?: string } }[] }) => res.errors?.[0]?.extensions?.code;

describe('authentication and scopes through the gateway', () => {
  it('operator creates a merchant; its key answers `me` with defaults and one key', async () => {
    const m = await stack.newMerchant('Alpha shop');
    expect(m.secret).toMatch(/^cpg_[a-z2-7]{8}_/);
    const res = await gql(stack.url, ME, {}, m.secret);
    expect(res.errors).toBeUndefined();
    expect(res.data.me).toMatchObject({
      id: m.id,
      name: 'Alpha shop',
      settings: { addressMode: 'SINGLE', paymentExpiryMinutes: 60, underpaymentTolerance: '0' },
    });
    expect(res.data.me.apiKeys).toEqual([
      {
        id: m.keyId,
        label: 'default',
        prefix: m.secret.slice(4, 12),
        scopes: ['READ', 'PAYMENTS_WRITE', 'WITHDRAWALS_WRITE', 'ADDRESSES_WRITE', 'SETTINGS_WRITE'],
        revokedAt: null,
      },
    ]);
    // The secret is shown once: nothing in the API returns it again.
    expect(JSON.stringify(res.data)).not.toContain(m.secret.slice(13));
  });

  it("a second merchant's key sees only its own data", async () => {
    const a = await stack.newMerchant('A');
    const b = await stack.newMerchant('B');
    const meB = await gql(stack.url, ME, {}, b.secret);
    expect(meB.data.me.id).toBe(b.id);
    expect(meB.data.me.apiKeys.map((k: { id: string }) => k.id)).toEqual([b.keyId]);
    // B cannot revoke A's key: to B it does not exist, and it keeps working for A.
    const revoke = await gql(stack.url, 'mutation($id: ID!) { revokeApiKey(id: $id) { id } }', { id: a.keyId }, b.secret);
    expect(code(revoke)).toBe('NOT_FOUND');
    expect((await gql(stack.url, ME, {}, a.secret)).data.me.id).toBe(a.id);
  });

  it('a revoked key is refused with UNAUTHENTICATED within a second', async () => {
    const m = await stack.newMerchant();
    const created = await gql(stack.url, 'mutation { createApiKey(input: { label: "ci", scopes: [READ] }) { apiKey { id scopes } secret } }', {}, m.secret);
    expect(created.errors).toBeUndefined();
    const second = created.data.createApiKey;
    expect(second.apiKey.scopes).toEqual(['READ']);
    expect((await gql(stack.url, '{ me { id } }', {}, second.secret)).data.me.id).toBe(m.id);

    const revoked = await gql(stack.url, 'mutation($id: ID!) { revokeApiKey(id: $id) { id revokedAt } }', { id: second.apiKey.id }, m.secret);
    expect(revoked.data.revokeApiKey.revokedAt).not.toBeNull();
    await new Promise((r) => setTimeout(r, 1000));
    const after = await gql(stack.url, '{ me { id } }', {}, second.secret);
    expect(after.status).toBe(401);
    expect(code(after)).toBe('UNAUTHENTICATED');
    expect(after.errors![0]!.message).toContain('revoked');
    // Revoking again is harmless and changes nothing.
    const again = await gql(stack.url, 'mutation($id: ID!) { revokeApiKey(id: $id) { revokedAt } }', { id: second.apiKey.id }, m.secret);
    expect(again.data.revokeApiKey.revokedAt).toBe(revoked.data.revokeApiKey.revokedAt);
  });

  it('the last active key cannot be revoked (CONFLICT)', async () => {
    const m = await stack.newMerchant();
    const res = await gql(stack.url, 'mutation($id: ID!) { revokeApiKey(id: $id) { id } }', { id: m.keyId }, m.secret);
    expect(code(res)).toBe('CONFLICT');
    expect((await gql(stack.url, '{ me { id } }', {}, m.secret)).data.me.id).toBe(m.id);
  });

  it('a key without the needed scope gets FORBIDDEN and changes nothing', async () => {
    const m = await stack.newMerchant();
    const ro = (await gql(stack.url, 'mutation { createApiKey(input: { label: "ro", scopes: [READ] }) { secret } }', {}, m.secret)).data.createApiKey.secret;
    const res = await gql(stack.url, 'mutation { updateMerchantSettings(input: { paymentExpiryMinutes: 5 }) { id } }', {}, ro);
    expect(code(res)).toBe('FORBIDDEN');
    expect(res.errors![0]!.message).toContain('SETTINGS_WRITE');
    expect((await gql(stack.url, ME, {}, m.secret)).data.me.settings.paymentExpiryMinutes).toBe(60);
  });

  it('a key cannot mint a key with scopes it lacks', async () => {
    const m = await stack.newMerchant();
    const limited = (await gql(stack.url, 'mutation { createApiKey(input: { label: "s", scopes: [READ, SETTINGS_WRITE] }) { secret } }', {}, m.secret)).data
      .createApiKey.secret;
    const res = await gql(stack.url, 'mutation { createApiKey(input: { label: "x", scopes: [WITHDRAWALS_WRITE] }) { secret } }', {}, limited);
    expect(code(res)).toBe('FORBIDDEN');
    expect((await gql(stack.url, ME, {}, m.secret)).data.me.apiKeys).toHaveLength(2);
  });

  it('no key, a garbage key, and the wrong kind of caller are refused', async () => {
    const none = await gql(stack.url, '{ me { id } }');
    expect(code(none)).toBe('UNAUTHENTICATED');
    const garbage = await gql(stack.url, '{ me { id } }', {}, 'cpg_notakey');
    expect([garbage.status, code(garbage)]).toEqual([401, 'UNAUTHENTICATED']);
    const forged = await gql(stack.url, '{ me { id } }', {}, 'cpg_abcdefgh_' + 'A'.repeat(43));
    expect(code(forged)).toBe('UNAUTHENTICATED');
    const operatorMe = await stack.operator('{ me { id } }');
    expect(code(operatorMe)).toBe('FORBIDDEN');
    const m = await stack.newMerchant();
    const merchantCreates = await gql(stack.url, 'mutation { createMerchant(input: { name: "x" }) { secret } }', {}, m.secret);
    expect(code(merchantCreates)).toBe('FORBIDDEN');
    const anonCreates = await gql(stack.url, 'mutation { createMerchant(input: { name: "x" }) { secret } }');
    expect(code(anonCreates)).toBe('UNAUTHENTICATED');
  });

  // Every message on the NATS server while a merchant uses its keys, requests and replies alike,
  // read by a plain connection subscribed to everything: no key may be among them.
  it('no API key crosses the bus, while keys still authenticate and a revoked one stops', async () => {
    // As the monitoring user: it may read every subject (and publish none).
    const nc = await connect({ servers: stack.env.natsServerUrl, name: 'bus-capture', ...stack.env.busAuth('monitor') });
    const seen: { subject: string; reply?: string; text: string }[] = [];
    const capture = nc.subscribe('>', {
      callback: (_err, msg: Msg) => {
        const headers = msg.headers ? [...msg.headers.keys()].map((k) => `${k}: ${msg.headers!.values(k).join(',')}`).join('\n') : '';
        seen.push({ subject: msg.subject, reply: msg.reply, text: `${headers}\n${new TextDecoder().decode(msg.data)}` });
      },
    });
    await nc.flush();
    const verifySubject = `${stack.env.namespace}.rpc.merchant.verify_api_key`;
    const verifyRequests = () => seen.filter((m) => m.subject === verifySubject);
    try {
      const m = await stack.newMerchant('Bus shop');
      expect((await gql(stack.url, '{ me { id } }', {}, m.secret)).data.me.id).toBe(m.id);
      const created = await gql(stack.url, 'mutation { createApiKey(input: { label: "bus", scopes: [READ] }) { apiKey { id } secret } }', {}, m.secret);
      const second = created.data.createApiKey as { apiKey: { id: string }; secret: string };
      expect((await gql(stack.url, '{ me { id } }', {}, second.secret)).data.me.id).toBe(m.id);

      // The right prefix with another secret part: shaped well enough to ask, refused by the check.
      const wrong = `${second.secret.slice(0, 13)}${randomBytes(32).toString('base64url')}`;
      const refused = await gql(stack.url, '{ me { id } }', {}, wrong);
      expect([refused.status, code(refused)]).toEqual([401, 'UNAUTHENTICATED']);
      expect(verifyRequests().some((r) => JSON.parse(r.text).proof === apiKeyProof(wrong))).toBe(true);

      // Malformed and oversized tokens are refused by the gateway alone.
      const asked = verifyRequests().length;
      for (const bad of ['cpg_notakey', `${second.secret}x`, `cpg_${'a'.repeat(8_000)}`]) {
        expect(code(await gql(stack.url, '{ me { id } }', {}, bad))).toBe('UNAUTHENTICATED');
      }
      await nc.flush();
      expect(verifyRequests()).toHaveLength(asked);

      const revoked = await gql(stack.url, 'mutation($id: ID!) { revokeApiKey(id: $id) { revokedAt } }', { id: second.apiKey.id }, m.secret);
      expect(revoked.data.revokeApiKey.revokedAt).not.toBeNull();
      await new Promise((r) => setTimeout(r, 1000));
      const after = await gql(stack.url, '{ me { id } }', {}, second.secret);
      expect([after.status, code(after)]).toEqual([401, 'UNAUTHENTICATED']);
      expect(after.errors![0]!.message).toContain('revoked');
      expect((await gql(stack.url, '{ me { id } }', {}, m.secret)).data.me.id).toBe(m.id);
      await nc.flush();

      // What travelled for each key: its prefix and proof, and each request was answered.
      const requests = verifyRequests();
      for (const key of [m.secret, second.secret, wrong]) {
        expect(requests.map((r) => JSON.parse(r.text))).toContainEqual({ prefix: key.slice(4, 12), proof: apiKeyProof(key) });
      }
      const replies = seen.filter((msg) => requests.some((r) => r.reply === msg.subject));
      expect(replies.length).toBe(requests.length);
      expect(replies.some((r) => r.text.includes(second.apiKey.id))).toBe(true);

      for (const key of [m.secret, second.secret, wrong]) {
        const forms = [key, key.slice(13), createHash('sha256').update(key).digest('hex'), Buffer.from(key).toString('base64')];
        const leaks = seen.filter((msg) => forms.some((f) => msg.subject.includes(f) || msg.text.includes(f)));
        expect(leaks).toEqual([]);
      }
    } finally {
      capture.unsubscribe();
      await nc.close();
    }
  });

  it('settings update through the gateway and read back', async () => {
    const m = await stack.newMerchant();
    const res = await gql(
      stack.url,
      'mutation { updateMerchantSettings(input: { addressMode: CROSS, withdrawalAggregation: BATCH, batchMaxSize: 20, underpaymentTolerance: "0.005" }) { settings { addressMode withdrawalAggregation batchMaxSize batchMaxWaitSeconds underpaymentTolerance } } }',
      {},
      m.secret,
    );
    expect(res.errors).toBeUndefined();
    expect(res.data.updateMerchantSettings.settings).toEqual({
      addressMode: 'CROSS',
      withdrawalAggregation: 'BATCH',
      batchMaxSize: 20,
      batchMaxWaitSeconds: 600,
      underpaymentTolerance: '0.005',
    });
  });
});
