import { Bus } from '@cpg/shared/bus';
import { type TestEnv, createTestEnv } from '@cpg/shared/testing';
import { Authenticator } from '../src/auth';

const MERCHANT = '6f1c8a3e-2b4d-4e5f-8a9b-0c1d2e3f4a5b';
const KEY = '7a2b3c4d-5e6f-4a1b-9c2d-3e4f5a6b7c8d';
const OPERATOR = 'operator-token-0123456789';

// Real NATS: the gateway's Authenticator asks over request-reply; the responder here answers the
// way the merchant service does (its own behaviour is covered in integration-tests/auth.test.ts)
// and counts the questions, which is what these tests are about.
let env: TestEnv;
let gatewayBus: Bus;
let merchantBus: Bus;
const asked: string[] = [];
let answer: 'valid' | 'unknown' | 'hang' = 'valid';

beforeAll(async () => {
  env = await createTestEnv();
  gatewayBus = await Bus.connect({ url: env.natsUrl, namespace: env.namespace, name: 'gw', log: env.log });
  merchantBus = await Bus.connect({ url: env.natsUrl, namespace: env.namespace, name: 'merchant', log: env.log });
  merchantBus.reply('merchant.verify_api_key', async ({ secret }) => {
    asked.push(secret);
    await new Promise((r) => setTimeout(r, answer === 'hang' ? 5000 : 30));
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
  it('asks once for a burst of requests with the same cold key, then serves the cache', async () => {
    const auth = new Authenticator(gatewayBus, OPERATOR, 500, env.log);
    const ids = await Promise.all(Array.from({ length: 25 }, () => auth.identify('Bearer cpg_burst')));
    expect(asked).toEqual(['cpg_burst']);
    expect(ids.every((i) => i.kind === 'merchant' && i.merchantId === MERCHANT)).toBe(true);
    await auth.identify('Bearer cpg_burst');
    expect(asked).toHaveLength(1);
  });

  it('asks again once the cache expires, so a revoked key stops working', async () => {
    const auth = new Authenticator(gatewayBus, OPERATOR, 20, env.log);
    await auth.identify('Bearer cpg_k1');
    await new Promise((r) => setTimeout(r, 40));
    answer = 'unknown';
    await expect(auth.identify('Bearer cpg_k1')).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(asked).toHaveLength(2);
  });

  it('answers UNAVAILABLE to every waiter when the merchant service does not answer', async () => {
    answer = 'hang';
    const auth = new Authenticator(gatewayBus, OPERATOR, 500, env.log);
    const results = await Promise.allSettled([auth.identify('Bearer cpg_slow'), auth.identify('Bearer cpg_slow')]);
    expect(results.map((r) => (r.status === 'rejected' ? (r.reason as { code: string }).code : 'ok'))).toEqual(['UNAVAILABLE', 'UNAVAILABLE']);
    expect(asked).toEqual(['cpg_slow']);
  });

  it('knows the operator token and anonymous callers without asking', async () => {
    const auth = new Authenticator(gatewayBus, OPERATOR, 500, env.log);
    await expect(auth.identify(`Bearer ${OPERATOR}`)).resolves.toEqual({ kind: 'operator' });
    await expect(auth.identify(undefined)).resolves.toEqual({ kind: 'anonymous' });
    await expect(auth.identify('Basic abc')).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(asked).toHaveLength(0);
  });
});
