import { createHash, randomUUID } from 'node:crypto';
import type { Client } from 'graphql-ws';
import { AppError } from '@cpg/core/graphql';
import { type BaseContext, type RunningHttp, serveSubgraph } from '@cpg/core/http';
import { gql } from '@cpg/devkit/testing';
import type { RunningGateway } from '@cpg/gateway/src/server';
import { typeDefs as paymentTypeDefs } from '@cpg/subgraph-payment/src/server';
import { type Stack, startStack } from './support/stack';
import { type WsSub, connectWs, subscribeWs, waitUntil, wsEndCode } from './support/ws';

let stack: Stack;
const clients: Client[] = [];
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  for (const c of clients) await c.dispose();
  await stack?.stop();
});

const PAYMENT_BY_ID = 'subscription($id: ID) { paymentUpdated(id: $id) { event payment { id status } } }';

function connect(url: string, secret?: string): Client {
  const client = connectWs(url, secret);
  clients.push(client);
  return client;
}

type Sub = WsSub;

/** Whether a result is the "current" state every subscriber is sent first (whatever the event field's alias). */
const isCurrent = (r: WsSub['results'][number]): boolean =>
  Object.values((r.data ?? {}) as Record<string, unknown>).some((v) => !!v && typeof v === 'object' && Object.values(v).includes('current'));

/** A subscription whose `results` leave out that first "current" state; `all` keeps it. */
function subscribe(client: Client, query: string, variables: Record<string, unknown> = {}): Sub & { all: Sub['results'] } {
  const sub = subscribeWs(client, query, variables);
  return Object.defineProperties(Object.create(sub) as Sub & { all: Sub['results'] }, {
    results: { get: () => sub.results.filter((r) => !isCurrent(r)) },
    all: { get: () => sub.results },
  });
}
const endCode = wsEndCode;
const waitFor = waitUntil;

async function publishPaymentUpdate(
  gateway: RunningGateway,
  p: { id: string; merchantId: string; token: string },
  event: string,
  status: string,
  tokenHash?: string,
  version?: number,
) {
  // The subscriber's replica may have sent its SUB a moment ago: flushing that connection first
  // makes sure the server has it before the event goes out.
  await gateway.bus.nc.flush();
  // Published as the payment subgraph would (the test's admin connection: the gateway's own NATS user may not).
  await stack.bus.publish(
    'payment.updated',
    { paymentId: p.id, merchantId: p.merchantId, checkoutTokenHash: tokenHash ?? createHash('sha256').update(p.token).digest('hex'), event, status, version },
    { id: randomUUID(), key: p.id },
  );
}

describe('subscriptions over graphql-ws on the real stack', () => {
  it('a payment the merchant cannot read ends the subscription with NOT_FOUND and frees its NATS subscription', async () => {
    const m = await stack.newMerchant();
    const id = randomUUID();
    // Whatever the payment subgraph serves, a random id is nobody's payment.
    const http = await gql(stack.url, 'query($id: ID!) { payment(id: $id) { id } }', { id }, m.secret);
    expect(http.data?.payment ?? null).toBeNull();

    const sub = subscribe(connect(stack.url, m.secret), PAYMENT_BY_ID, { id });
    await sub.ended;
    expect(endCode(sub)).toBe('NOT_FOUND');
    expect(sub.results.filter((r) => r.data)).toEqual([]);
    // Published after the refusal: nobody is listening any more.
    await publishPaymentUpdate(stack.gateway, { id, merchantId: m.id, token: 'x' }, 'paid', 'PAID');
    expect(stack.gateway.liveSubscriptions()).toBe(0);
  });

  it('a bad key is refused at connect with close code 4401 and a reason', async () => {
    const sub = subscribe(connect(stack.url, 'cpg_notakey'), PAYMENT_BY_ID, { id: randomUUID() });
    await sub.ended;
    expect(sub.error?.code).toBe(4401);
    expect(String(sub.error?.reason)).toMatch(/key/i);
    expect(sub.results).toEqual([]);
  });

  it('anonymous callers cannot subscribe by id (UNAUTHENTICATED); an unknown checkout token is NOT_FOUND', async () => {
    const anon = connect(stack.url);
    const byId = subscribe(anon, PAYMENT_BY_ID, { id: randomUUID() });
    await byId.ended;
    expect(endCode(byId)).toBe('UNAUTHENTICATED');

    const byToken = subscribe(anon, 'subscription($t: String) { paymentUpdated(checkoutToken: $t) { event payment { status } } }', { t: 'no-such-token' });
    await byToken.ended;
    expect(endCode(byToken)).toBe('NOT_FOUND');
    expect(stack.gateway.liveSubscriptions()).toBe(0);
  });

  it('bad operations are refused with BAD_USER_INPUT before anything is subscribed', async () => {
    const m = await stack.newMerchant();
    const client = connect(stack.url, m.secret);
    const both = subscribe(client, 'subscription { paymentUpdated(id: "a", checkoutToken: "b") { event } }');
    const neither = subscribe(client, 'subscription { paymentUpdated { event } }');
    const unknownField = subscribe(client, 'subscription { paymentUpdated(id: "a") { nope } }');
    const deep = subscribe(
      client,
      'subscription { paymentUpdated(id: "a") { payment { merchant { payments { nodes { merchant { payments { nodes { merchant { payments { nodes { id } } } } } } } } } } } }',
    );
    await Promise.all([both.ended, neither.ended, unknownField.ended, deep.ended]);
    for (const s of [both, neither, unknownField, deep]) expect(endCode(s)).toBe('BAD_USER_INPUT');
    expect(deep.error[0].extensions.reason).toBe('QUERY_TOO_DEEP');
  });

  it('withdrawalUpdated subscribes and ends cleanly (NOT_FOUND for a withdrawal that is not there)', async () => {
    const m = await stack.newMerchant();
    const sub = subscribe(connect(stack.url, m.secret), 'subscription($id: ID!) { withdrawalUpdated(id: $id) { id status } }', { id: randomUUID() });
    await sub.ended;
    expect(endCode(sub)).toBe('NOT_FOUND');
    expect(stack.gateway.liveSubscriptions()).toBe(0);
  });

  it("queries sent over the socket run as over HTTP, as the connection's caller", async () => {
    const m = await stack.newMerchant('Socket shop');
    const q = subscribe(connect(stack.url, m.secret), 'query { me { id name } }');
    await q.ended;
    expect(q.results).toEqual([{ data: { me: { id: m.id, name: 'Socket shop' } } }]);
  });

  it('subscribe operations are rate-limited per caller like HTTP requests', async () => {
    const limited = await stack.extraGateway({ RATE_LIMIT_REQUESTS: 2, RATE_LIMIT_WINDOW_SECONDS: 60 });
    const m = await stack.newMerchant();
    const client = connect(limited.url, m.secret);
    const codes: (string | undefined)[] = [];
    for (let i = 0; i < 3; i++) {
      const s = subscribe(client, PAYMENT_BY_ID, { id: randomUUID() });
      await s.ended;
      codes.push(endCode(s));
    }
    expect(codes).toEqual(['NOT_FOUND', 'NOT_FOUND', 'RATE_LIMITED']);
  });
});

/**
 * The payment subgraph does not store payments yet, so these tests put a small stand-in behind a
 * second gateway: the payment schema verbatim, signed-identity checks as in every subgraph, and a
 * few payments in memory. Everything else is the real stack: gateway, graphql-ws, NATS, and the
 * merchant subgraph resolving `payment.merchant` through federation.
 */
describe('live payment updates through a stand-in payment subgraph', () => {
  let fake: RunningHttp;
  let gw: RunningGateway;
  const payments = new Map<string, { id: string; merchantId: string; token: string; status: string; amountReceived: string }>();

  beforeAll(async () => {
    fake = await serveSubgraph<BaseContext>({
      // The gateway signs for the subgraph it calls by its supergraph name.
      name: 'payment',
      typeDefs: paymentTypeDefs,
      resolvers: {
        Query: {
          payment: (_: unknown, { id }: { id: string }, ctx: BaseContext) => {
            if (ctx.identity.kind !== 'merchant') throw new AppError('FORBIDDEN', 'merchant keys only');
            const p = payments.get(id);
            if (p && p.merchantId !== ctx.identity.merchantId) throw new AppError('FORBIDDEN', 'not your payment');
            return p ?? null;
          },
          checkout: (_: unknown, { token }: { token: string }) => [...payments.values()].find((p) => p.token === token) ?? null,
        },
        Payment: { merchant: (p: { merchantId: string }) => ({ id: p.merchantId }) },
      } as never,
      host: '127.0.0.1',
      port: 0,
      gatewaySecret: stack.env.gatewaySecret,
      signatureMaxAgeSeconds: 60,
      log: stack.env.log,
      context: (base) => base,
      ready: async () => ({}),
    });
    gw = await stack.extraGateway({ SUBGRAPH_PAYMENT_URL: fake.url });
  });
  afterAll(async () => {
    await fake?.stop();
  });

  async function newPayment() {
    const m = await stack.newMerchant('Live shop');
    const p = { id: randomUUID(), merchantId: m.id, token: `tok_${randomUUID()}`, status: 'PENDING', amountReceived: '0' };
    payments.set(p.id, p);
    return { m, p };
  }

  it('a merchant receives each event with its own selection re-read through the supergraph, then unsubscribes', async () => {
    const { m, p } = await newPayment();
    const client = connect(gw.url, m.secret);
    const sub = subscribe(
      client,
      `subscription($id: ID) { paymentUpdated(id: $id) { kind: event payment { ...P merchant { name } } } }
       fragment P on Payment { id state: status amountReceived }`,
      { id: p.id },
    );
    await waitFor(() => gw.liveSubscriptions() === 1, 'the NATS subscription');

    p.status = 'CONFIRMING';
    p.amountReceived = '1.5';
    await publishPaymentUpdate(gw, p, 'deposit_seen', 'CONFIRMING');
    await waitFor(() => sub.results.length === 1, 'the first event');
    p.status = 'PAID';
    await publishPaymentUpdate(gw, p, 'paid', 'PAID');
    await waitFor(() => sub.results.length === 2, 'the second event');

    expect(sub.results).toEqual([
      {
        data: { paymentUpdated: { kind: 'deposit_seen', payment: { id: p.id, state: 'CONFIRMING', amountReceived: '1.5', merchant: { name: 'Live shop' } } } },
      },
      { data: { paymentUpdated: { kind: 'paid', payment: { id: p.id, state: 'PAID', amountReceived: '1.5', merchant: { name: 'Live shop' } } } } },
    ]);

    sub.stop();
    await waitFor(() => gw.liveSubscriptions() === 0, 'the NATS subscription to go');
  });

  it("another merchant's payment is NOT_FOUND, and a payment that disappears ends the subscription", async () => {
    const { p } = await newPayment();
    const other = await stack.newMerchant();
    const theirs = subscribe(connect(gw.url, other.secret), PAYMENT_BY_ID, { id: p.id });
    await theirs.ended;
    expect(endCode(theirs)).toBe('NOT_FOUND');

    const { m, p: mine } = await newPayment();
    const sub = subscribe(connect(gw.url, m.secret), PAYMENT_BY_ID, { id: mine.id });
    await waitFor(() => gw.liveSubscriptions() === 1, 'the NATS subscription');
    payments.delete(mine.id);
    await publishPaymentUpdate(gw, mine, 'cancelled', 'CANCELLED');
    await sub.ended;
    expect(endCode(sub)).toBe('NOT_FOUND');
    expect(gw.liveSubscriptions()).toBe(0);
  });

  it('the widget subscribes anonymously by checkout token; events carrying another token hash are ignored', async () => {
    const { p } = await newPayment();
    const sub = subscribe(connect(gw.url), 'subscription($t: String) { paymentUpdated(checkoutToken: $t) { event payment { id status } } }', { t: p.token });
    await waitFor(() => gw.liveSubscriptions() === 1, 'the NATS subscription');

    await publishPaymentUpdate(gw, p, 'forged', 'PAID', createHash('sha256').update('another token').digest('hex'));
    p.status = 'PARTIALLY_PAID';
    await publishPaymentUpdate(gw, p, 'partially_paid', 'PARTIALLY_PAID');
    await waitFor(() => sub.results.length === 1, 'the event');
    expect(sub.results[0]).toEqual({ data: { paymentUpdated: { event: 'partially_paid', payment: { id: p.id, status: 'PARTIALLY_PAID' } } } });

    // Merchant-only data stays out of reach: the token reads through `checkout`, as the caller.
    const nosy = subscribe(connect(gw.url), 'subscription($t: String) { paymentUpdated(checkoutToken: $t) { payment { merchant { name apiKeys { id } } } } }', {
      t: p.token,
    });
    await waitFor(() => gw.liveSubscriptions() === 2, 'the second NATS subscription');
    await publishPaymentUpdate(gw, p, 'confirming', 'CONFIRMING');
    // Its first answer (the current state) and the event's: both refused, neither carries data.
    await waitFor(() => nosy.results.length === 2, 'the nosy reads');
    for (const r of nosy.results) {
      expect(r.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      expect(r.data).toBeNull();
    }

    sub.stop();
    nosy.stop();
    await waitFor(() => gw.liveSubscriptions() === 0, 'the NATS subscriptions to go');
  });

  it('closing the socket frees every NATS subscription it held; a connection holds at most 20 operations', async () => {
    const { m, p } = await newPayment();
    const client = connect(gw.url, m.secret);
    const subs = Array.from({ length: 20 }, () => subscribe(client, PAYMENT_BY_ID, { id: p.id }));
    await waitFor(() => gw.liveSubscriptions() === 20 || subs.some((s) => s.error || s.completed), '20 NATS subscriptions');
    expect(subs.filter((s) => s.error || s.completed).map((s) => [s.error, s.all])).toEqual([]);
    const extra = subscribe(client, PAYMENT_BY_ID, { id: p.id });
    await extra.ended;
    expect(endCode(extra)).toBe('RATE_LIMITED');
    expect(extra.error[0].extensions.reason).toBe('TOO_MANY_SUBSCRIPTIONS');

    await client.dispose();
    await waitFor(() => gw.liveSubscriptions() === 0, 'the NATS subscriptions to go');
    expect(subs.every((s) => s.results.length === 0)).toBe(true);
  });
});

/** A new merchant's real payment through the gateway, with the checkout token from its checkoutUrl. */
async function realPayment(merchantName: string) {
  const m = await stack.newMerchant(merchantName);
  const created = await gql(
    stack.url,
    'mutation($i: CreatePaymentInput!) { createPayment(input: $i) { id checkoutUrl } }',
    { i: { coinId: 'dev-evm:ETH', amount: '0.5' } },
    m.secret,
  );
  const p = created.data.createPayment as { id: string; checkoutUrl: string };
  return { m, p, token: decodeURIComponent(new URL(p.checkoutUrl).pathname.split('/').pop()!) };
}

describe('a real payment, end to end', () => {
  it('the widget follows a payment by checkout token and the merchant by id; both see published and real updates', async () => {
    const m = await stack.newMerchant('Real shop');
    const created = await gql(
      stack.url,
      'mutation($i: CreatePaymentInput!) { createPayment(input: $i) { id status checkoutUrl } }',
      { i: { coinId: 'dev-evm:ETH', amount: '0.5' } },
      m.secret,
    );
    expect(created.errors).toBeUndefined();
    const p = created.data.createPayment as { id: string; status: string; checkoutUrl: string };
    const token = decodeURIComponent(new URL(p.checkoutUrl).pathname.split('/').pop()!);

    const widget = subscribe(connect(stack.url), 'subscription($t: String) { paymentUpdated(checkoutToken: $t) { event payment { id status amount } } }', {
      t: token,
    });
    const merchant = subscribe(
      connect(stack.url, m.secret),
      'subscription($id: ID) { paymentUpdated(id: $id) { event payment { id status merchant { name } } } }',
      { id: p.id },
    );
    await waitFor(() => stack.gateway.liveSubscriptions() === 2, 'both NATS subscriptions');
    // The payment's own "created" event may still be on its way from the outbox: not asserted on.
    const updates = (s: Sub) => s.results.map((r) => r.data?.paymentUpdated ?? r).filter((u) => u.event !== 'created');

    await publishPaymentUpdate(stack.gateway, { id: p.id, merchantId: m.id, token }, 'deposit_seen', p.status);
    await waitFor(() => updates(widget).length === 1 && updates(merchant).length === 1, 'the published update');
    expect(updates(widget)).toEqual([{ event: 'deposit_seen', payment: { id: p.id, status: 'PENDING', amount: '0.5' } }]);
    expect(updates(merchant)).toEqual([{ event: 'deposit_seen', payment: { id: p.id, status: 'PENDING', merchant: { name: 'Real shop' } } }]);

    // The payment subgraph's own event, through its outbox and JetStream.
    const cancelled = await gql(stack.url, 'mutation($id: ID!) { cancelPayment(id: $id) { status } }', { id: p.id }, m.secret);
    expect(cancelled.errors).toBeUndefined();
    await waitFor(() => updates(widget).length === 2 && updates(merchant).length === 2, 'the cancellation');
    expect(updates(widget)[1]).toMatchObject({ payment: { status: 'CANCELLED' } });
    expect(updates(merchant)[1]).toMatchObject({ payment: { status: 'CANCELLED' } });

    widget.stop();
    merchant.stop();
    await waitFor(() => stack.gateway.liveSubscriptions() === 0, 'the NATS subscriptions to go');
  });

  it('every subscriber is first sent the current state: a change made before it subscribed is not lost', async () => {
    const { m, p, token } = await realPayment('Late subscriber');
    // The checkout page read the payment (PENDING); the payment changes before its subscription starts.
    const cancelled = await gql(stack.url, 'mutation($id: ID!) { cancelPayment(id: $id) { status } }', { id: p.id }, m.secret);
    expect(cancelled.data.cancelPayment.status).toBe('CANCELLED');

    const widget = subscribe(connect(stack.url), 'subscription($t: String) { paymentUpdated(checkoutToken: $t) { event payment { id status version } } }', {
      t: token,
    });
    const merchant = subscribe(connect(stack.url, m.secret), PAYMENT_BY_ID, { id: p.id });
    await waitFor(() => widget.all.length >= 1 && merchant.all.length >= 1, 'the current state');
    // Two changes announced so far: created (1) and cancelled (2).
    expect(widget.all[0]).toEqual({ data: { paymentUpdated: { event: 'current', payment: { id: p.id, status: 'CANCELLED', version: 2 } } } });
    expect(merchant.all[0]).toEqual({ data: { paymentUpdated: { event: 'current', payment: { id: p.id, status: 'CANCELLED' } } } });
    widget.stop();
    merchant.stop();
  });

  it('a repeated or overtaken payment event is not sent again; newer ones are', async () => {
    const { m, p, token } = await realPayment('Versions');
    const sub = subscribe(connect(stack.url, m.secret), PAYMENT_BY_ID, { id: p.id });
    await waitFor(() => sub.all.length === 1, 'the current state');
    const ref = { id: p.id, merchantId: m.id, token };
    await publishPaymentUpdate(stack.gateway, ref, 'v5', 'PENDING', undefined, 5);
    await publishPaymentUpdate(stack.gateway, ref, 'v5-again', 'PENDING', undefined, 5);
    await publishPaymentUpdate(stack.gateway, ref, 'v3-late', 'PENDING', undefined, 3);
    await publishPaymentUpdate(stack.gateway, ref, 'v6', 'PENDING', undefined, 6);
    // The payment's own "created" (version 1) may still be on its way from the outbox: not counted.
    const events = () => sub.results.map((r) => r.data?.paymentUpdated?.event).filter((e) => e !== 'created');
    await waitFor(() => events().length === 2, 'the two newer events');
    await new Promise((r) => setTimeout(r, 300));
    expect(events()).toEqual(['v5', 'v6']);
    sub.stop();
  });

  it('after a gateway reconnects to NATS, each of its live subscribers is sent the current state again', async () => {
    const m = await stack.newMerchant('Reconnect');
    const created = await gql(
      stack.url,
      'mutation($i: CreatePaymentInput!) { createPayment(input: $i) { id } }',
      { i: { coinId: 'dev-evm:ETH', amount: '0.5' } },
      m.secret,
    );
    const id = created.data.createPayment.id as string;
    const sub = subscribe(connect(stack.url, m.secret), PAYMENT_BY_ID, { id });
    await waitFor(() => sub.all.length === 1, 'the current state');
    // Core NATS does not replay what was published while a connection was down: the gateway
    // re-reads on reconnect. A second gateway is made to reconnect; the first one's subscriber
    // hears nothing more.
    const gateway = await stack.extraGateway({});
    const onExtra = subscribe(connect(gateway.url, m.secret), PAYMENT_BY_ID, { id });
    await waitFor(() => onExtra.all.length === 1, 'the current state on the second gateway');
    await gateway.bus.nc.reconnect();
    await waitFor(() => onExtra.all.length === 2, 'the state re-sent after the reconnect', 10_000);
    expect(onExtra.all[1]).toEqual({ data: { paymentUpdated: { event: 'current', payment: { id, status: 'PENDING' } } } });
    expect(sub.all).toHaveLength(1);
    sub.stop();
    onExtra.stop();
  });
});
