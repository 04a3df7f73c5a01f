import { randomBytes } from 'node:crypto';
import { Bus } from '@cpg/core/bus';
import { apiKeyProof } from '@cpg/core/graphql';
import { createLogger } from '@cpg/core/logger';
import { type TestEnv, createTestEnv } from '@cpg/devkit/testing';
import { Authenticator } from '../src/auth';

const MERCHANT = '6f1c8a3e-2b4d-4e5f-8a9b-0c1d2e3f4a5b';
const KEY = '7a2b3c4d-5e6f-4a1b-9c2d-3e4f5a6b7c8d';
const OPERATOR = 'operator-token-0123456789';

// Real NATS: the gateway's Authenticator asks over request-reply; the responder here answers the
// way the merchant service does (its own behaviour is covered in subgraphs/merchant/test and
// integration-tests/auth.test.ts) and records the questions, which is what these tests are about.
let env: TestEnv;
let gatewayBus: Bus;
let merchantBus: Bus;
const asked: { prefix: string; proof: string }[] = [];
let answer: 'valid' | 'unknown' | 'hang' | 'fail' = 'valid';
// Every line either side writes, at every level: what an operator's log store would keep.
const logLines: string[] = [];
const log = createLogger('auth-test', 'trace', { write: (line: string) => void logLines.push(line) });

/** A key of the shape the merchant subgraph issues (the responder here does not care which). */
function newKey(prefix: string): string {
  return `cpg_${prefix}_${randomBytes(32).toString('base64url')}`;
}

beforeAll(async () => {
  env = await createTestEnv();
  gatewayBus = await Bus.connect({ url: env.natsUrl, namespace: env.namespace, name: 'gw', log });
  merchantBus = await Bus.connect({ url: env.natsUrl, namespace: env.namespace, name: 'merchant', log });
  merchantBus.reply('merchant.verify_api_key', async (req) => {
    asked.push(req);
    // Unref'd: a hanging answer must not keep jest alive after the last test.
    await new Promise((r) => setTimeout(r, answer === 'hang' ? 5000 : 30).unref());
    if (answer === 'fail') throw new Error('database unavailable');
    return answer === 'valid' ? { ok: true, merchantId: MERCHANT, keyId: KEY, scopes: ['READ'] } : { ok: false, reason: 'unknown API key' };
  });
  await merchantBus.nc.flush();
});

afterAll(async () => {
  await gatewayBus?.close();
  await merchantBus?.close();
  await env?.cleanup();
});

beforeEach(() => {
  asked.length = 0;
  answer = 'valid';
});

describe('Authenticator over NATS request-reply', () => {
  it('asks with the prefix and proof, never the key', async () => {
    const key = newKey('abcdefgh');
    const auth = new Authenticator(gatewayBus, OPERATOR, 500, log);
    await expect(auth.identify(`Bearer ${key}`)).resolves.toEqual({ kind: 'merchant', merchantId: MERCHANT, keyId: KEY, scopes: ['READ'] });
    expect(asked).toEqual([{ prefix: 'abcdefgh', proof: apiKeyProof(key) }]);
    expect(JSON.stringify(asked)).not.toContain(key.slice(13));
  });

  it('asks once for a burst of requests with the same cold key, then serves the cache', async () => {
    const key = newKey('burstbst');
    const auth = new Authenticator(gatewayBus, OPERATOR, 500, log);
    const ids = await Promise.all(Array.from({ length: 25 }, () => auth.identify(`Bearer ${key}`)));
    expect(asked).toEqual([{ prefix: 'burstbst', proof: apiKeyProof(key) }]);
    expect(ids.every((i) => i.kind === 'merchant' && i.merchantId === MERCHANT)).toBe(true);
    await auth.identify(`Bearer ${key}`);
    expect(asked).toHaveLength(1);
  });

  it('asks again once the cache expires, so a revoked key stops working', async () => {
    const key = newKey('keyonek2');
    const auth = new Authenticator(gatewayBus, OPERATOR, 20, log);
    await auth.identify(`Bearer ${key}`);
    await new Promise((r) => setTimeout(r, 40));
    answer = 'unknown';
    await expect(auth.identify(`Bearer ${key}`)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(asked).toHaveLength(2);
  });

  it('answers UNAVAILABLE to every waiter when the merchant service does not answer', async () => {
    answer = 'hang';
    const key = newKey('slowslow');
    const auth = new Authenticator(gatewayBus, OPERATOR, 500, log);
    const results = await Promise.allSettled([auth.identify(`Bearer ${key}`), auth.identify(`Bearer ${key}`)]);
    expect(results.map((r) => (r.status === 'rejected' ? (r.reason as { code: string }).code : 'ok'))).toEqual(['UNAVAILABLE', 'UNAVAILABLE']);
    expect(asked).toHaveLength(1);
  });

  it('knows the operator token and anonymous callers without asking', async () => {
    const auth = new Authenticator(gatewayBus, OPERATOR, 500, log);
    await expect(auth.identify(`Bearer ${OPERATOR}`)).resolves.toEqual({ kind: 'operator' });
    await expect(auth.identify(undefined)).resolves.toEqual({ kind: 'anonymous' });
    await expect(auth.identify('Basic abc')).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(asked).toHaveLength(0);
  });

  it.each([
    ['not a key at all', 'Bearer cpg_notakey'],
    ['a secret part too short', `Bearer cpg_abcdefgh_${'a'.repeat(42)}`],
    ['a secret part too long', `Bearer cpg_abcdefgh_${'a'.repeat(44)}`],
    ['a prefix outside base32', `Bearer cpg_ABCDEFGH_${'a'.repeat(43)}`],
    ['another scheme of key', `Bearer xyz_abcdefgh_${'a'.repeat(43)}`],
    ['a huge header', `Bearer cpg_abcdefgh_${'a'.repeat(1_000_000)}`],
    ['a huge run of blanks', `Bearer ${' '.repeat(100_000)}x`],
  ])('refuses %s without asking the bus', async (_, header) => {
    const auth = new Authenticator(gatewayBus, OPERATOR, 500, log);
    await expect(auth.identify(header)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(asked).toHaveLength(0);
  });

  it('an operator token longer than any API key still works', async () => {
    const long = `op_${'x'.repeat(200)}`;
    const auth = new Authenticator(gatewayBus, long, 500, log);
    await expect(auth.identify(`Bearer ${long}`)).resolves.toEqual({ kind: 'operator' });
    await expect(auth.identify(`Bearer ${long}x`)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(asked).toHaveLength(0);
  });

  it('writes neither the key nor its proof to any log line, also when the lookup fails', async () => {
    logLines.length = 0;
    const key = newKey('logslogs');
    const auth = new Authenticator(gatewayBus, OPERATOR, 0, log);
    await auth.identify(`Bearer ${key}`);
    answer = 'fail';
    await expect(auth.identify(`Bearer ${key}`)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    answer = 'hang';
    await expect(auth.identify(`Bearer ${key}`)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    // Both sides did log the failures: the check below reads real lines, not an empty buffer.
    const all = logLines.join('');
    expect(all).toContain('rpc handler failed');
    expect(all).toContain('API key lookup failed');
    expect(all).not.toContain(key.slice(13));
    expect(all).not.toContain(apiKeyProof(key));
  });
});
