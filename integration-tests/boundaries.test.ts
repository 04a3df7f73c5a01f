import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { signRequest } from '@cpg/core/graphql';
import { gql } from '@cpg/devkit/testing';
import { gatewayHeaders } from './support/signed-request';
import { type Stack, startStack } from './support/stack';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

const code = (res: { errors?: { extensions?: { code?: string } }[] }) => res.errors?.[0]?.extensions?.code;

describe('subgraphs accept only requests signed by the gateway', () => {
  const query = 'mutation { createMerchant(input: { name: "sneaky" }) { merchant { id } } }';

  it('refuses a direct request without a signature', async () => {
    const res = await gql(stack.subgraphs.merchant.url, query);
    expect(res.status).toBe(401);
    expect(code(res)).toBe('UNAUTHENTICATED');
  });

  it('refuses a forged identity, a wrong secret and an expired signature', async () => {
    const sign = (secret: string, now?: number) => gatewayHeaders(secret, 'merchant', { kind: 'operator' }, query, {}, { now });
    const wrongSecret = sign('not-the-gateway-secret-at-all');
    expect((await gql(stack.subgraphs.merchant.url, query, {}, undefined, wrongSecret)).status).toBe(401);

    const expired = sign(stack.env.gatewaySecret, Date.now() - 10 * 60_000);
    expect((await gql(stack.subgraphs.merchant.url, query, {}, undefined, expired)).status).toBe(401);

    const real = gatewayHeaders(stack.env.gatewaySecret, 'merchant', { kind: 'anonymous' }, query);
    const tampered = { ...real, 'x-cpg-identity': Buffer.from(JSON.stringify({ kind: 'operator' })).toString('base64url') };
    expect((await gql(stack.subgraphs.merchant.url, query, {}, undefined, tampered)).status).toBe(401);

    // Nothing of the above reached the database.
    const count = await stack.subgraphs.merchant.orm.em
      .fork()
      .getConnection()
      .execute('select count(*)::int as n from merchant.merchants where name = ?', ['sneaky']);
    expect(count[0].n).toBe(0);
  });

  it('accepts the same request when correctly signed (so the refusals above mean something)', async () => {
    const headers = gatewayHeaders(stack.env.gatewaySecret, 'merchant', { kind: 'operator' }, query);
    const res = await gql(stack.subgraphs.merchant.url, query, {}, undefined, headers);
    expect(res.errors).toBeUndefined();
    expect(res.data.createMerchant.merchant.id).toBeTruthy();
  });
});

/**
 * A recording proxy between a second gateway and the merchant subgraph captures what the gateway
 * really sends, as someone on that network path would. Each refusal is checked by its reason, so
 * it is the intended check that refused and not another one.
 */
describe('a signed request captured between the gateway and a subgraph cannot be reused', () => {
  interface Captured {
    method: string;
    headers: Record<string, string>;
    body: Buffer;
  }
  const HOP_BY_HOP = new Set(['host', 'connection', 'keep-alive', 'content-length', 'transfer-encoding']);
  const captured: Captured[] = [];
  // 'intercept': the request is recorded and never delivered, so its nonce is unused everywhere.
  let mode: 'forward' | 'intercept' = 'forward';
  let proxy: http.Server;
  let gatewayUrl: string;

  const mutation = (name: string) => `mutation { createMerchant(input: { name: "${name}" }) { merchant { id } } }`;
  const merchantsNamed = async (name: string) => {
    const rows = await stack.subgraphs.merchant.orm.em
      .fork()
      .getConnection()
      .execute('select count(*)::int as n from merchant.merchants where name = ?', [name]);
    return rows[0].n as number;
  };
  const send = async (url: string, c: Captured) => {
    const res = await fetch(url, { method: c.method, headers: c.headers, body: c.method === 'GET' ? undefined : new Uint8Array(c.body) });
    const json = (await res.json()) as { data?: unknown; errors?: { message: string; extensions?: { code?: string } }[] };
    return { status: res.status, data: json.data, code: json.errors?.[0]?.extensions?.code, message: json.errors?.[0]?.message };
  };
  /** Runs `name`'s createMerchant through the gateway and returns the subgraph request it made. */
  const captureCreate = async (name: string) => {
    const before = captured.length;
    const res = await gql(gatewayUrl, mutation(name), {}, stack.env.operatorToken);
    const sent = captured.slice(before).find((c) => c.body.includes(name));
    if (!sent) throw new Error(`the gateway sent no createMerchant "${name}" through the proxy`);
    return { res, sent };
  };

  beforeAll(async () => {
    const target = stack.subgraphs.merchant.url;
    proxy = http.createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string' && !HOP_BY_HOP.has(k)) headers[k] = v;
      const record: Captured = { method: req.method!, headers, body: Buffer.concat(chunks) };
      const isGraphql = req.url?.startsWith('/graphql') ?? false;
      if (isGraphql) captured.push(record);
      if (isGraphql && mode === 'intercept') {
        res.writeHead(503, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ errors: [{ message: 'intercepted', extensions: { code: 'UNAVAILABLE' } }] }));
        return;
      }
      const upstream = await fetch(new URL(req.url!, target), {
        method: record.method,
        headers,
        body: record.method === 'GET' ? undefined : new Uint8Array(record.body),
      });
      res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json' });
      res.end(Buffer.from(await upstream.arrayBuffer()));
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/graphql`;
    gatewayUrl = (await stack.extraGateway({ SUBGRAPH_MERCHANT_URL: proxyUrl })).url;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => {
      proxy?.close(() => resolve());
      proxy?.closeAllConnections();
    });
  });

  it('the gateway signs each subgraph request for that subgraph, its exact body and a fresh nonce', async () => {
    const first = await captureCreate('through-proxy-1');
    const second = await captureCreate('through-proxy-2');
    expect(first.res.errors).toBeUndefined();
    expect(second.res.errors).toBeUndefined();
    expect(first.sent.method).toBe('POST');
    expect(first.sent.headers['x-cpg-subgraph']).toBe('merchant');
    expect(first.sent.headers['x-cpg-body-sha256']).toBe(createHash('sha256').update(first.sent.body).digest('hex'));
    expect(Buffer.from(first.sent.headers['x-cpg-nonce']!, 'base64url').length).toBeGreaterThanOrEqual(16);
    expect(second.sent.headers['x-cpg-nonce']).not.toBe(first.sent.headers['x-cpg-nonce']);
  });

  it('a delivered request replayed as-is is refused and changes nothing', async () => {
    const { sent } = await captureCreate('replayed');
    expect(await merchantsNamed('replayed')).toBe(1);
    const replay = await send(stack.subgraphs.merchant.url, sent);
    expect(replay).toMatchObject({ status: 401, code: 'UNAUTHENTICATED' });
    expect(replay.message).toMatch(/replayed/);
    expect(await merchantsNamed('replayed')).toBe(1);
  });

  describe('an intercepted request (never delivered, its nonce unused)', () => {
    let sent: Captured;
    beforeAll(async () => {
      mode = 'intercept';
      try {
        const captureResult = await captureCreate('intercepted');
        expect(captureResult.res.errors?.[0]?.message).toBe('intercepted');
        sent = captureResult.sent;
      } finally {
        mode = 'forward';
      }
      expect(await merchantsNamed('intercepted')).toBe(0);
    });

    it('is refused with another body, also when its body-hash header is rewritten to match', async () => {
      const body = Buffer.from(JSON.stringify({ query: mutation('swapped-body'), variables: {} }));
      const swapped = await send(stack.subgraphs.merchant.url, { ...sent, body });
      expect(swapped).toMatchObject({ status: 401, code: 'UNAUTHENTICATED' });
      expect(swapped.message).toMatch(/body does not match/);
      const rehashed = { ...sent, body, headers: { ...sent.headers, 'x-cpg-body-sha256': createHash('sha256').update(body).digest('hex') } };
      expect(await send(stack.subgraphs.merchant.url, rehashed)).toMatchObject({ status: 401, message: 'refused: bad gateway signature' });
      expect(await merchantsNamed('swapped-body')).toBe(0);
    });

    it('is refused by every other subgraph, also when its subgraph header is rewritten', async () => {
      for (const name of ['address', 'payment', 'withdrawal', 'compliance'] as const) {
        const elsewhere = await send(stack.subgraphs[name].url, sent);
        expect(elsewhere).toMatchObject({ status: 401, code: 'UNAUTHENTICATED', message: `refused: signed for subgraph "merchant", this is "${name}"` });
        const readdressed = { ...sent, headers: { ...sent.headers, 'x-cpg-subgraph': name } };
        expect(await send(stack.subgraphs[name].url, readdressed)).toMatchObject({ status: 401, message: 'refused: bad gateway signature' });
      }
    });

    it('is refused as a GET, whose operation would travel outside the signed body', async () => {
      const url = `${stack.subgraphs.merchant.url}?query=${encodeURIComponent('{ __typename }')}`;
      expect(await send(url, { ...sent, method: 'GET' })).toMatchObject({ status: 401, code: 'UNAUTHENTICATED' });
    });

    it('is accepted once when delivered as captured (so the refusals above are not about the capture), then refused', async () => {
      const delivered = await send(stack.subgraphs.merchant.url, sent);
      expect(delivered.status).toBe(200);
      expect(delivered.data).toMatchObject({ createMerchant: { merchant: { id: expect.any(String) } } });
      const again = await send(stack.subgraphs.merchant.url, sent);
      expect(again).toMatchObject({ status: 401, code: 'UNAUTHENTICATED', message: 'refused: nonce already used (replayed request)' });
      expect(await merchantsNamed('intercepted')).toBe(1);
    });
  });

  it('a request signed with a timestamp 30 s in the future is refused; the same signed now is accepted', async () => {
    const body = JSON.stringify({ query: mutation('from-the-future'), variables: {} });
    const sign = (now: number) => signRequest({ kind: 'operator' }, { method: 'POST', subgraph: 'merchant', body }, stack.env.gatewaySecret, { now });
    const post = (headers: Record<string, string>) =>
      send(stack.subgraphs.merchant.url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: Buffer.from(body) });
    const future = await post(sign(Date.now() + 30_000));
    expect(future).toMatchObject({ status: 401, code: 'UNAUTHENTICATED', message: 'refused: gateway signature timestamp is in the future' });
    expect(await merchantsNamed('from-the-future')).toBe(0);
    const fresh = await post(sign(Date.now()));
    expect(fresh.status).toBe(200);
    expect(await merchantsNamed('from-the-future')).toBe(1);
  });
});

describe('bad input gets a clear error with a stable code and writes nothing', () => {
  it.each([
    ['an exponent', '"1e5"'],
    ['a float literal', '1.5'],
    ['a sign', '"+1"'],
    ['a negative amount', '"-1"'],
    ['an empty string', '""'],
  ])('a malformed Amount (%s) is BAD_USER_INPUT', async (_, literal) => {
    const m = await stack.newMerchant();
    const res = await gql(
      stack.url,
      `mutation { requestWithdrawal(input: { coinId: "dev-evm:ETH", toAddress: "0x0", amount: ${literal}, idempotencyKey: "k" }) { id } }`,
      {},
      m.secret,
    );
    expect(code(res)).toBe('BAD_USER_INPUT');
    expect(res.errors![0]!.message).toMatch(/Amount/);
  });

  it('a malformed Amount in variables is BAD_USER_INPUT too', async () => {
    const m = await stack.newMerchant();
    const res = await gql(
      stack.url,
      'mutation($a: Amount!) { requestWithdrawal(input: { coinId: "c", toAddress: "t", amount: $a, idempotencyKey: "k" }) { id } }',
      { a: 0.1 },
      m.secret,
    );
    expect(code(res)).toBe('BAD_USER_INPUT');
  });

  it('an unknown enum value is BAD_USER_INPUT and creates no key', async () => {
    const m = await stack.newMerchant();
    const literal = await gql(stack.url, 'mutation { createApiKey(input: { label: "x", scopes: [ROOT] }) { secret } }', {}, m.secret);
    expect(code(literal)).toBe('BAD_USER_INPUT');
    const variable = await gql(
      stack.url,
      'mutation($s: [ApiScope!]!) { createApiKey(input: { label: "x", scopes: $s }) { secret } }',
      { s: ['ROOT'] },
      m.secret,
    );
    expect(code(variable)).toBe('BAD_USER_INPUT');
    const keys = await gql(stack.url, '{ me { apiKeys { id } } }', {}, m.secret);
    expect(keys.data.me.apiKeys).toHaveLength(1);
  });

  it('out-of-range settings are BAD_USER_INPUT and leave settings unchanged', async () => {
    const m = await stack.newMerchant();
    for (const input of ['{ batchMaxSize: 0 }', '{ underpaymentTolerance: "0.5" }', '{ paymentExpiryMinutes: 99999, batchMaxSize: 5 }']) {
      const res = await gql(stack.url, `mutation { updateMerchantSettings(input: ${input}) { id } }`, {}, m.secret);
      expect(code(res)).toBe('BAD_USER_INPUT');
    }
    const me = await gql(stack.url, '{ me { settings { batchMaxSize underpaymentTolerance paymentExpiryMinutes } } }', {}, m.secret);
    expect(me.data.me.settings).toEqual({ batchMaxSize: 50, underpaymentTolerance: '0', paymentExpiryMinutes: 60 });
  });

  it('an over-deep query is refused before it runs', async () => {
    const m = await stack.newMerchant();
    const deep =
      '{ me { balances { coin { network { nativeCoin { network { nativeCoin { network { nativeCoin { network { nativeCoin { id } } } } } } } } } } } }';
    const res = await gql(stack.url, deep, {}, m.secret);
    expect(code(res)).toBe('BAD_USER_INPUT');
    expect(res.errors![0]!.message).toContain('too deep');
  });

  it('an over-costly query is refused before it runs', async () => {
    const m = await stack.newMerchant();
    const res = await gql(stack.url, '{ payments(first: 1000) { nodes { deposits { id txHash } merchant { apiKeys { id } } } } }', {}, m.secret);
    expect(code(res)).toBe('BAD_USER_INPUT');
    expect(res.errors![0]!.message).toContain('too expensive');
  });

  it('a malformed id is BAD_USER_INPUT, not a database error', async () => {
    const m = await stack.newMerchant();
    const res = await gql(stack.url, 'mutation { cancelPayment(id: "1; drop table") { id } }', {}, m.secret);
    expect(code(res)).toBe('BAD_USER_INPUT');
  });
});

describe('limits and health', () => {
  it('answers RATE_LIMITED (429) past the per-key limit, per key', async () => {
    const limited = await stack.extraGateway({ RATE_LIMIT_REQUESTS: 3, RATE_LIMIT_WINDOW_SECONDS: 60 });
    const a = await stack.newMerchant();
    const b = await stack.newMerchant();
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await gql(limited.url, '{ me { id } }', {}, a.secret)).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    const refused = await gql(limited.url, '{ me { id } }', {}, a.secret);
    expect(code(refused)).toBe('RATE_LIMITED');
    expect((await gql(limited.url, '{ me { id } }', {}, b.secret)).status).toBe(200);
  });

  it('serves /healthz and /readyz on the gateway and every subgraph', async () => {
    const ready = await fetch(new URL('/readyz', stack.url));
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({
      status: 'ready',
      checks: { nats: true, merchant: true, address: true, payment: true, withdrawal: true, compliance: true },
    });
    for (const s of Object.values(stack.subgraphs)) {
      expect((await fetch(new URL('/healthz', s.url))).status).toBe(200);
      expect((await fetch(new URL('/readyz', s.url))).status).toBe(200);
    }
  });

  it('exposes the whole contract through one endpoint', async () => {
    const res = await gql(stack.url, '{ __schema { queryType { fields { name } } } }', {}, stack.env.operatorToken);
    const names = res.data.__schema.queryType.fields.map((f: { name: string }) => f.name);
    expect(names).toEqual(expect.arrayContaining(['me', 'networks', 'payments', 'withdrawals', 'alerts', 'checkout']));
  });
});
