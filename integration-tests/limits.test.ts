import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import type { Client } from 'graphql-ws';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import type { GatewayConfig } from '@cpg/core/config';
import { gql } from '@cpg/devkit/testing';
import { type RunningGateway, startGateway } from '@cpg/gateway/src/server';
import { type SubgraphName, type Stack, startStack } from './support/stack';
import { subscribeWs, waitUntil, wsEndCode } from './support/ws';

// Read by the merchant subgraph when the stack starts: a small dispatcher (8 sends at once, 4 per
// merchant, 1 per endpoint) and a timeout longer than the test, so a hanging endpoint stays hung.
Object.assign(process.env, {
  WEBHOOK_MAX_IN_FLIGHT: '8',
  WEBHOOK_CONCURRENCY_PER_MERCHANT: '4',
  WEBHOOK_CONCURRENCY_PER_ENDPOINT: '1',
  WEBHOOK_TIMEOUT_MS: '60000',
  WEBHOOK_POLL_MS: '50',
});

/**
 * Bounded work at the gateway, on the real stack. A second gateway reaches the real subgraphs
 * through a counting pass-through proxy, so "refused before execution" is checked where it
 * matters: no subgraph received anything.
 */
let stack: Stack;
let proxy: http.Server;
const forwarded: Record<string, number> = {};
let proxyUrls: Record<SubgraphName, string>;
const gateways: RunningGateway[] = [];
const clients: Client[] = [];
const sockets: WebSocket[] = [];
const servers: http.Server[] = [];

beforeAll(async () => {
  stack = await startStack();
  proxy = http.createServer((req, res) => {
    const [, name, ...rest] = (req.url ?? '/').split('/');
    const target = stack.subgraphs[name as SubgraphName] as (typeof stack.subgraphs)[SubgraphName] | undefined;
    if (!target) {
      res.writeHead(404);
      res.end();
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = `/${rest.join('/')}`;
      if (path.startsWith('/graphql')) forwarded[name!] = (forwarded[name!] ?? 0) + 1;
      const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => !['host', 'content-length', 'connection'].includes(k))) as Record<
        string,
        string
      >;
      fetch(new URL(path, target.url), { method: req.method, headers, body: chunks.length ? Buffer.concat(chunks) : undefined })
        .then(async (r) => {
          res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'application/json' });
          res.end(Buffer.from(await r.arrayBuffer()));
        })
        .catch(() => {
          res.writeHead(502);
          res.end();
        });
    });
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  proxyUrls = Object.fromEntries((Object.keys(stack.subgraphs) as SubgraphName[]).map((n) => [n, `${base}/${n}/graphql`])) as Record<SubgraphName, string>;
}, 60_000);

afterAll(async () => {
  for (const s of sockets) s.terminate();
  for (const c of clients) await c.dispose();
  for (const g of gateways) await g.stop().catch(() => undefined);
  // Hung webhook receivers first: the dispatcher waits for its sends when the stack stops.
  for (const srv of servers) {
    srv.closeAllConnections();
    await new Promise<void>((resolve) => srv.close(() => resolve()));
  }
  await new Promise<void>((resolve) => proxy?.close(() => resolve()));
  await stack?.stop();
});

async function countedGateway(overrides: Partial<GatewayConfig> = {}): Promise<RunningGateway> {
  const g = await startGateway(stack.env.gatewayConfig(proxyUrls, overrides), stack.env.log);
  gateways.push(g);
  return g;
}

const totalForwarded = () => Object.values(forwarded).reduce((a, b) => a + b, 0);
const code = (r: { errors?: { extensions?: Record<string, unknown> }[] }) => r.errors?.[0]?.extensions?.code;
const reason = (r: { errors?: { extensions?: Record<string, unknown> }[] }) => r.errors?.[0]?.extensions?.reason;
const from = (ip: string) => ({ 'x-forwarded-for': ip });

describe('query cost and shape are checked before any subgraph is asked', () => {
  let gw: RunningGateway;
  let merchant: { id: string; secret: string };
  beforeAll(async () => {
    gw = await countedGateway();
    merchant = await stack.newMerchant('Limits shop');
  });

  it('refuses the cyclic Withdrawal.batch <-> WithdrawalBatch.withdrawals query; no subgraph receives it', async () => {
    const cyclic = `query($id: ID!) { withdrawal(id: $id) { id batch { withdrawals { batch { withdrawals { batch { withdrawals { id } } } } } } } }`;
    const before = totalForwarded();
    const res = await gql(gw.url, cyclic, { id: randomUUID() }, merchant.secret);
    expect(res.status).toBe(400);
    expect(code(res)).toBe('BAD_USER_INPUT');
    expect(reason(res)).toBe('QUERY_TOO_COSTLY');
    expect(res.errors![0]!.message).toMatch(/cost \d+ exceeds the limit of 50000/);
    // Deeper still: refused by depth as well, and still nothing forwarded.
    const nest = (n: number): string => (n === 0 ? 'id' : `batch { withdrawals { ${nest(n - 1)} } }`);
    const deeper = `query($id: ID!) { withdrawal(id: $id) { ${nest(5)} } }`;
    const res2 = await gql(gw.url, deeper, { id: randomUUID() }, merchant.secret);
    expect(res2.errors!.map((e) => e.extensions?.reason)).toContain('QUERY_TOO_DEEP');
    expect(totalForwarded()).toBe(before);
  });

  it('refuses 1,500 aliases (at parse by the token cap, or by the alias cap when tokens allow); no subgraph receives them', async () => {
    const aliases = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: me { id }`).join(' ')} }`;
    const before = totalForwarded();
    const res = await gql(gw.url, aliases(1500), {}, merchant.secret);
    expect(res.status).toBe(400);
    expect(code(res)).toBe('BAD_USER_INPUT');
    expect(res.errors![0]!.message).toContain('tokens');

    const roomy = await countedGateway({ MAX_QUERY_TOKENS: 100_000 });
    const res2 = await gql(roomy.url, aliases(1500), {}, merchant.secret);
    expect(res2.status).toBe(400);
    expect(reason(res2)).toBe('TOO_MANY_ALIASES');
    expect(res2.errors![0]!.message).toContain('Aliases limit of 30 exceeded, found 1500');
    // One over the default cap is enough to be refused.
    expect(reason(await gql(gw.url, aliases(31), {}, merchant.secret))).toBe('TOO_MANY_ALIASES');
    expect(totalForwarded()).toBe(before);
  });

  it('prices an unpaginated list at its documented maximum, and nested lists multiply', async () => {
    // networks (50) x coins (50): 50 * (1 + 50) = 2550 objects at most, served.
    const res = await gql(gw.url, '{ networks { id coins { id } } }', {}, merchant.secret);
    expect(res.errors).toBeUndefined();
    expect(res.data.networks.length).toBeGreaterThan(0);
    // One more level of the same lists: 50 * (1 + 50 * (1 + 1 + 50)) = 130,050, refused.
    const before = totalForwarded();
    const heavy = await gql(gw.url, '{ networks { coins { network { coins { id } } } } }', {}, merchant.secret);
    expect(reason(heavy)).toBe('QUERY_TOO_COSTLY');
    expect(heavy.errors![0]!.extensions).toMatchObject({ cost: 130_050, maxCost: 50_000 });
    expect(totalForwarded()).toBe(before);
  });

  it('still serves a query within the limits, through to the subgraphs, and tells its cost', async () => {
    const before = totalForwarded();
    const res = await fetch(gw.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${merchant.secret}` },
      body: JSON.stringify({ query: '{ me { id name } withdrawals(first: 2) { nodes { id batch { id withdrawals { id } } } } }' }),
    });
    const body = (await res.json()) as { data?: any; errors?: unknown };
    expect(res.status).toBe(200);
    expect(body.errors).toBeUndefined();
    expect(body.data.me).toEqual({ id: merchant.id, name: 'Limits shop' });
    // me 1; withdrawals 1 + 2 * (a withdrawal 1 + its batch 1 + the batch's withdrawals 1000)
    expect(Number(res.headers.get('x-query-cost'))).toBe(1 + 1 + 2 * (1 + 1 + 1000));
    expect(totalForwarded()).toBeGreaterThan(before);
  });

  it('hides "Did you mean" in production, keeps it in development', async () => {
    const dev = await gql(gw.url, '{ me { nme } }', {}, merchant.secret);
    expect(dev.errors![0]!.message).toContain('Did you mean');
    const prod = await countedGateway({ NODE_ENV: 'production' });
    const res = await gql(prod.url, '{ me { nme } }', {}, merchant.secret);
    expect(code(res)).toBe('BAD_USER_INPUT');
    expect(res.errors![0]!.message).toBe('Cannot query field "nme" on type "Merchant".');
    // Introspection is off there by default, too.
    const intro = await gql(prod.url, '{ __schema { queryType { name } } }', {}, merchant.secret);
    expect(code(intro)).toBe('BAD_USER_INPUT');
  });
});

describe('rate limits charge by cost and count failed authentication per client IP', () => {
  it('an expensive query drains the cost budget faster than a cheap one', async () => {
    // A long window, so refill during the test (under a unit a second) cannot blur the count.
    const gw = await countedGateway({ RATE_LIMIT_COST: 1000, RATE_LIMIT_REQUESTS: 10_000, RATE_LIMIT_WINDOW_SECONDS: 3600 });
    const cheapKey = await stack.newMerchant();
    const dearKey = await stack.newMerchant();
    // { me { id } } costs 1; the page of payments costs 1 + 100 * 1 = 101.
    const cheap = '{ me { id } }';
    const dear = '{ payments(first: 100) { nodes { id status } } }';
    let dearServed = 0;
    let refused;
    for (let i = 0; i < 20; i++) {
      const r = await gql(gw.url, dear, {}, dearKey.secret);
      if (r.status !== 200) {
        refused = r;
        break;
      }
      dearServed++;
    }
    expect(dearServed).toBe(9);
    expect(refused!.status).toBe(429);
    expect(code(refused!)).toBe('RATE_LIMITED');
    expect(reason(refused!)).toBe('COST');

    const statuses = new Set<number>();
    for (let i = 0; i < 200; i++) statuses.add((await gql(gw.url, cheap, {}, cheapKey.secret)).status);
    // 200 cheap requests (cost 200) still fit where 10 expensive ones did not.
    expect([...statuses]).toEqual([200]);
  });

  it('bad bearer tokens from one IP get RATE_LIMITED after the limit; other clients are unaffected', async () => {
    const gw = await countedGateway({ AUTH_FAILURE_LIMIT: 5, RATE_LIMIT_WINDOW_SECONDS: 3600 });
    const good = await stack.newMerchant();
    const bad = 'Bearer cpg_live_' + 'x'.repeat(40);
    const attacker = from('198.51.100.66');
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++)
      statuses.push(
        (
          await fetch(gw.url, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: bad, ...attacker },
            body: '{"query":"{ me { id } }"}',
          })
        ).status,
      );
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429]);
    const limited = await gql(gw.url, '{ me { id } }', {}, 'made-up', attacker);
    expect(code(limited)).toBe('RATE_LIMITED');
    expect(reason(limited)).toBe('AUTH_FAILURES');

    // Another address: a valid key works and a wrong one is still only UNAUTHENTICATED.
    const other = from('198.51.100.67');
    const ok = await gql(gw.url, '{ me { id } }', {}, good.secret, other);
    expect(ok.data?.me.id).toBe(good.id);
    expect(code(await gql(gw.url, '{ me { id } }', {}, 'made-up', other))).toBe('UNAUTHENTICATED');
    // Anonymous reads from the limited address go on (they never claimed a credential).
    const anon = await gql(gw.url, '{ networks { id } }', {}, undefined, attacker);
    expect(anon.status).toBe(200);

    // graphql-ws connects count the same way: the limited address is closed with 4429.
    const ws = new WebSocket(gw.url.replace(/^http/, 'ws'), 'graphql-transport-ws', { headers: attacker });
    sockets.push(ws);
    await new Promise((resolve) => ws.once('open', resolve));
    ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: bad } }));
    const [closeCode] = await new Promise<[number, Buffer]>((resolve) => ws.once('close', (c, r) => resolve([c, r])));
    expect(closeCode).toBe(4429);
  });
});

/** A merchant with one payment, and a graphql-ws client of `gw` holding the merchant's key. */
async function paymentAndClient(gw: RunningGateway): Promise<{ m: Awaited<ReturnType<Stack['newMerchant']>>; id: string; client: Client }> {
  const m = await stack.newMerchant();
  const created = await gql(
    stack.url,
    'mutation($i: CreatePaymentInput!) { createPayment(input: $i) { id } }',
    { i: { coinId: 'dev-evm:ETH', amount: '0.5' } },
    m.secret,
  );
  const client = createClient({
    url: gw.url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${m.secret}` },
    retryAttempts: 0,
  });
  clients.push(client);
  return { m, id: created.data.createPayment.id as string, client };
}

function rawSocket(url: string, ip: string): WebSocket {
  const ws = new WebSocket(url.replace(/^http/, 'ws'), 'graphql-transport-ws', { headers: from(ip) });
  sockets.push(ws);
  return ws;
}
const opened = (ws: WebSocket) =>
  new Promise<'open' | number>((resolve) => {
    ws.once('open', () => resolve('open'));
    ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.once('error', () => undefined);
  });
const closed = (ws: WebSocket) => new Promise<number>((resolve) => ws.once('close', (c) => resolve(c)));

describe('graphql-ws limits', () => {
  it('closes the socket on a message above the size cap (1009), and serves one below it', async () => {
    const gw = await countedGateway({ WS_MAX_MESSAGE_BYTES: 4096 });
    const m = await stack.newMerchant();
    const ws = rawSocket(gw.url, '198.51.100.10');
    expect(await opened(ws)).toBe('open');
    const acks = new Promise((resolve) => ws.once('message', (d) => resolve(JSON.parse(String(d)))));
    ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${m.secret}` } }));
    expect(await acks).toEqual({ type: 'connection_ack' });
    const answered = new Promise((resolve) => ws.once('message', (d) => resolve(JSON.parse(String(d)))));
    ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: '{ me { id } }' } }));
    expect(await answered).toMatchObject({ id: '1', type: 'next', payload: { data: { me: { id: m.id } } } });
    const gone = closed(ws);
    ws.send(JSON.stringify({ id: '2', type: 'subscribe', payload: { query: '{ me { id } }', variables: { pad: 'x'.repeat(10_000) } } }));
    expect(await gone).toBe(1009);
  });

  it('refuses the subscription above the per-connection cap, and checks the cost of subscriptions', async () => {
    const gw = await countedGateway({ WS_MAX_SUBSCRIPTIONS_PER_CONNECTION: 3 });
    const { id, client } = await paymentAndClient(gw);
    const q = 'subscription($id: ID) { paymentUpdated(id: $id) { event payment { id status } } }';
    const subs = Array.from({ length: 3 }, () => subscribeWs(client, q, { id }));
    await waitUntil(() => gw.liveSubscriptions() === 3, 'three live subscriptions');
    const fourth = subscribeWs(client, q, { id });
    await fourth.ended;
    expect(wsEndCode(fourth)).toBe('RATE_LIMITED');
    expect(fourth.error[0].extensions.reason).toBe('TOO_MANY_SUBSCRIPTIONS');
    for (const s of subs) s.stop();
    await waitUntil(() => gw.liveSubscriptions() === 0, 'the subscriptions to end');

    const before = totalForwarded();
    const costly = subscribeWs(
      client,
      'subscription($id: ID!) { withdrawalUpdated(id: $id) { batch { withdrawals { batch { withdrawals { batch { withdrawals { id } } } } } } } }',
      {
        id: randomUUID(),
      },
    );
    await costly.ended;
    expect(wsEndCode(costly)).toBe('BAD_USER_INPUT');
    expect(costly.error[0].extensions.reason).toBe('QUERY_TOO_COSTLY');
    // The token cap holds on the socket as over HTTP.
    const tokens = subscribeWs(client, `query { ${Array.from({ length: 700 }, (_, i) => `a${i}: __typename`).join(' ')} }`);
    await tokens.ended;
    expect(wsEndCode(tokens)).toBe('BAD_USER_INPUT');
    expect(tokens.error[0].message).toContain('tokens');
    expect(totalForwarded()).toBe(before);
  });

  it('charges every event a subscription re-reads to its budget; an empty budget ends it with RATE_LIMITED', async () => {
    const gw = await countedGateway({ RATE_LIMIT_COST: 12, RATE_LIMIT_REQUESTS: 10_000, RATE_LIMIT_WINDOW_SECONDS: 3600 });
    const { m, id, client } = await paymentAndClient(gw);
    const sub = subscribeWs(client, 'subscription($id: ID) { paymentUpdated(id: $id) { event payment { id status } } }', { id });
    await waitUntil(() => gw.liveSubscriptions() === 1, 'the subscription live');
    let ended = false;
    void sub.ended.then(() => (ended = true));
    for (let i = 0; i < 30 && !ended; i++) {
      await stack.bus.publish(
        'payment.updated',
        { paymentId: id, merchantId: m.id, checkoutTokenHash: '0'.repeat(64), event: 'created', status: 'PENDING' },
        { id: randomUUID(), key: id },
      );
      await new Promise((r) => setTimeout(r, 100));
    }
    await sub.ended;
    const served = sub.results.filter((r) => r.data?.paymentUpdated).length;
    // Some events were served from the budget, then it ran out: the stream ends instead of reading for free.
    expect(served).toBeGreaterThan(0);
    expect(served).toBeLessThan(30);
    expect(wsEndCode(sub)).toBe('RATE_LIMITED');
  });

  it('holds the connection cap per client IP; other addresses still connect', async () => {
    const gw = await countedGateway({ WS_MAX_CONNECTIONS_PER_IP: 2 });
    const a1 = rawSocket(gw.url, '198.51.100.20');
    const a2 = rawSocket(gw.url, '198.51.100.20');
    expect(await Promise.all([opened(a1), opened(a2)])).toEqual(['open', 'open']);
    expect(await opened(rawSocket(gw.url, '198.51.100.20'))).toBe(429);
    expect(await opened(rawSocket(gw.url, '198.51.100.21'))).toBe('open');
    // A closed connection gives its place back.
    const gone = closed(a1);
    a1.close();
    await gone;
    let again: 'open' | number = 0;
    for (let i = 0; i < 20 && again !== 'open'; i++) {
      again = await opened(rawSocket(gw.url, '198.51.100.20'));
      if (again !== 'open') await new Promise((r) => setTimeout(r, 25));
    }
    expect(again).toBe('open');
  });
});

describe('webhook dispatch is fair across merchants', () => {
  async function listen(handler: http.RequestListener): Promise<string> {
    const srv = http.createServer(handler);
    servers.push(srv);
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
  }

  async function endpoint(secret: string, url: string): Promise<void> {
    const res = await gql(
      stack.url,
      'mutation($i: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $i) { endpoint { id } } }',
      { i: { url } },
      secret,
    );
    if (!res.data) throw new Error(`createWebhookEndpoint failed: ${JSON.stringify(res.errors)}`);
  }

  async function payment(secret: string): Promise<string> {
    const res = await gql(
      stack.url,
      'mutation($i: CreatePaymentInput!) { createPayment(input: $i) { id } }',
      { i: { coinId: 'dev-evm:ETH', amount: '0.5' } },
      secret,
    );
    if (!res.data) throw new Error(`createPayment failed: ${JSON.stringify(res.errors)}`);
    return res.data.createPayment.id as string;
  }

  it("merchant B's webhook is delivered while merchant A's 20 endpoints hang", async () => {
    // A's receiver takes every request and never answers.
    const stuck: http.ServerResponse[] = [];
    const hanging = await listen((_req, res) => void stuck.push(res));
    const receivedByB: string[] = [];
    const fine = await listen((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        receivedByB.push(Buffer.concat(chunks).toString('utf8'));
        res.end('ok');
      });
    });

    const a = await stack.newMerchant('Slow endpoints');
    for (let i = 0; i < 20; i++) await endpoint(a.secret, `${hanging}/a/${i}`);
    const b = await stack.newMerchant('Quick endpoint');
    await endpoint(b.secret, `${fine}/b`);

    // A's backlog is older than B's: 2 payments x 20 endpoints, more than the dispatcher's 8 slots.
    await payment(a.secret);
    await payment(a.secret);
    await waitUntil(() => stuck.length >= 4, "A's sends to hang", 15_000);

    const paymentOfB = await payment(b.secret);
    await waitUntil(() => receivedByB.some((body) => body.includes(paymentOfB)), "B's webhook", 15_000);
    // Delivered while every send to A is still hanging (none was answered), and A never held
    // more than its share: 4 sends at once, whatever its backlog.
    expect(stuck.every((res) => !res.writableEnded)).toBe(true);
    expect(stuck).toHaveLength(4);
  }, 40_000);
});
