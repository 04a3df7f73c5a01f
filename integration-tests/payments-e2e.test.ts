import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Client } from 'graphql-ws';
import { Bus, type Envelope } from '@cpg/core/bus';
import type { DevChainControls } from '@cpg/chains';
import { anvilAccount, sendUnsimulated } from '@cpg/devkit/chains/evm/dev';
import type { RpcPool } from '@cpg/chains/rpc';
import { withPg } from '@cpg/devkit/services';
import { eventually, gql } from '@cpg/devkit/testing';
import type { RunningTracker } from '@cpg/worker-tracker/src/worker';
import { startPaymentSubgraph } from '@cpg/subgraph-payment/src/server';
import { type DevChains, startChainTracker, startDevChains } from './support/dev-chains';
import { type Stack, startStack } from './support/stack';
import { type WsSub, connectWs, subscribeWs, waitUntil, wsEndCode } from './support/ws';

/**
 * Payments on real dev chains, watched live: anvil and litecoind of this file's own, the tracker
 * in this process, the whole supergraph, and merchants following their payments over graphql-ws.
 */
jest.setTimeout(60_000);

let stack: Stack;
let chains: DevChains;
let tracker: RunningTracker;
let evmRpc: RpcPool;
let controls: Record<string, DevChainControls>;
const clients: Client[] = [];

beforeAll(async () => {
  // Depth 2 keeps each flow short while still separating "seen" from "confirmed".
  [chains, stack] = await Promise.all([startDevChains({ confirmations: 2 }), startStack()]);
  ({ evmRpc, controls } = chains);
  tracker = await startChainTracker(stack, chains);
}, 60_000);

afterAll(async () => {
  for (const c of clients) await Promise.resolve(c.dispose()).catch(() => undefined);
  await tracker?.stop();
  await stack?.stop();
  await chains?.stop();
});

const SUBSCRIPTION = `subscription($id: ID) { paymentUpdated(id: $id) {
  event payment { status amountDue coin { symbol decimals } merchant { name } deposits { confirmations } } } }`;

type Merchant = Awaited<ReturnType<Stack['newMerchant']>>;
interface Update {
  event: string;
  payment: {
    status: string;
    amountDue: string | null;
    coin: { symbol: string; decimals: number };
    merchant: { name: string };
    deposits: { confirmations: number }[];
  };
}

interface CoinCase {
  coinId: string;
  symbol: string;
  decimals: number;
  /** The price, and the two parts it is paid in, in base units. */
  amount: string;
  parts: [bigint, bigint];
  /** amountDue after the first part. */
  dueAfterFirst: string;
}

const CASES: CoinCase[] = [
  { coinId: 'dev-evm:USDT', symbol: 'USDT', decimals: 6, amount: '10', parts: [4_000_000n, 6_000_000n], dueAfterFirst: '6' },
  { coinId: 'dev-evm:ETH', symbol: 'ETH', decimals: 18, amount: '0.5', parts: [2n * 10n ** 17n, 3n * 10n ** 17n], dueAfterFirst: '0.3' },
  { coinId: 'dev-ltc:LTC', symbol: 'LTC', decimals: 8, amount: '0.5', parts: [20_000_000n, 30_000_000n], dueAfterFirst: '0.3' },
];

const chainOf = (coinId: string) => controls[coinId.split(':')[0]!]!;

async function createPayment(m: Merchant, coinId: string, amount: string): Promise<{ id: string; address: string }> {
  const res = await gql(
    stack.url,
    'mutation($i: CreatePaymentInput!) { createPayment(input: $i) { id address { address } } }',
    { i: { coinId, amount } },
    m.secret,
  );
  if (!res.data) throw new Error(`createPayment failed: ${JSON.stringify(res.errors)}`);
  const address: string = res.data.createPayment.address.address;
  // Paid at once, before the tracker may have its address.created: it rescans what it committed meanwhile.
  return { id: res.data.createPayment.id, address };
}

/** Subscribes and waits until the gateway listens, so no chain event can slip past it. */
async function follow(m: Merchant, paymentId: string): Promise<WsSub> {
  const before = stack.gateway.liveSubscriptions();
  const client = connectWs(stack.url, m.secret);
  clients.push(client);
  const sub = subscribeWs(client, SUBSCRIPTION, { id: paymentId });
  await waitUntil(() => stack.gateway.liveSubscriptions() > before || sub.error !== undefined, 'the subscription to be live');
  return sub;
}

const updates = (sub: WsSub): Update[] => sub.results.map((r) => r.data?.paymentUpdated).filter(Boolean);

/**
 * The statuses the subscriber saw, without repeats and without PENDING: each event re-reads the
 * current state, so the outbox's "created" or a second event for one transition may read the
 * same status twice.
 */
const statusesSeen = (sub: WsSub) =>
  updates(sub)
    .map((u) => u.payment.status)
    .filter((s, i, all) => s !== 'PENDING' && s !== all[i - 1]);

async function untilStatus(sub: WsSub, status: string, ms = 20_000): Promise<Update> {
  await waitUntil(
    () => updates(sub).some((u) => u.payment.status === status) || sub.error !== undefined || sub.results.some((r) => r.errors),
    `${status}`,
    ms,
  ).catch((err) => {
    throw new Error(`${(err as Error).message}; got ${JSON.stringify(sub.results)}`);
  });
  if (sub.error || sub.results.some((r) => r.errors)) throw new Error(`subscription failed: ${JSON.stringify(sub.error ?? sub.results)}`);
  return updates(sub).find((u) => u.payment.status === status)!;
}

describe.each(CASES)('$coinId paid on chain, followed over graphql-ws', (c) => {
  it('two parts: PARTIALLY_PAID, then CONFIRMING, then PAID, with amountDue following', async () => {
    const m = await stack.newMerchant(`Shop ${c.symbol}`);
    const p = await createPayment(m, c.coinId, c.amount);
    const sub = await follow(m, p.id);
    const chain = chainOf(c.coinId);

    await chain.fund(p.address, c.coinId, c.parts[0]);
    const partial = await untilStatus(sub, 'PARTIALLY_PAID');
    expect(partial.payment).toMatchObject({
      amountDue: c.dueAfterFirst,
      coin: { symbol: c.symbol, decimals: c.decimals },
      merchant: { name: `Shop ${c.symbol}` },
      deposits: [expect.anything()],
    });

    await chain.fund(p.address, c.coinId, c.parts[1]);
    const confirming = await untilStatus(sub, 'CONFIRMING');
    expect(confirming.payment.amountDue).toBe('0');
    expect(confirming.payment.deposits).toHaveLength(2);

    await chain.mine(2);
    const paid = await untilStatus(sub, 'PAID');
    expect(paid.payment.amountDue).toBe('0');
    expect(paid.payment.deposits.every((d) => d.confirmations >= 2)).toBe(true);
    expect(statusesSeen(sub)).toEqual(['PARTIALLY_PAID', 'CONFIRMING', 'PAID']);
    sub.stop();
  });

  it('overpaid: OVERPAID once confirmed', async () => {
    const m = await stack.newMerchant(`Generous ${c.symbol}`);
    const p = await createPayment(m, c.coinId, c.amount);
    const sub = await follow(m, p.id);
    const chain = chainOf(c.coinId);
    await chain.fund(p.address, c.coinId, c.parts[0] + c.parts[1] + c.parts[0]);
    await chain.mine(2);
    const over = await untilStatus(sub, 'OVERPAID');
    expect(over.payment).toMatchObject({ amountDue: '0', coin: { symbol: c.symbol } });
    sub.stop();
  });
});

describe('expiry, late payment and reorg on dev-evm, followed over graphql-ws', () => {
  const LATE = `subscription($id: ID) { paymentUpdated(id: $id) { event payment { status paidLate amountDue deposits { status } } } }`;
  type LateUpdate = { event: string; payment: { status: string; paidLate: boolean; amountDue: string | null; deposits: { status: string }[] } };
  const lateUpdates = (sub: WsSub): LateUpdate[] => sub.results.map((r) => r.data?.paymentUpdated).filter(Boolean);
  async function followWith(m: Merchant, id: string, query: string): Promise<WsSub> {
    const before = stack.gateway.liveSubscriptions();
    const client = connectWs(stack.url, m.secret);
    clients.push(client);
    const sub = subscribeWs(client, query, { id });
    await waitUntil(() => stack.gateway.liveSubscriptions() > before || sub.error !== undefined, 'the subscription to be live');
    return sub;
  }
  const until = (sub: WsSub, test: (u: LateUpdate) => boolean, what: string) =>
    eventually(async () => lateUpdates(sub).find(test), what, 30_000).catch((err) => {
      throw new Error(`${(err as Error).message}; got ${JSON.stringify(sub.results)}`);
    });

  it('expires short of the amount (EXPIRED), then paid in full late: paidLate and the status the amount earns', async () => {
    const m = await stack.newMerchant('Late shop');
    const p = await createPayment(m, 'dev-evm:ETH', '0.5');
    const sub = await followWith(m, p.id, LATE);
    const chain = chainOf('dev-evm:ETH');
    await chain.fund(p.address, 'dev-evm:ETH', 10n ** 17n);
    await until(sub, (u) => u.payment.status === 'PARTIALLY_PAID', 'PARTIALLY_PAID');
    // Time runs out: the expiry is brought forward to now rather than waiting a real minute (a
    // moment after the first deposit, which stays on time).
    await new Promise((r) => setTimeout(r, 1100));
    await withPg(stack.env.databaseUrl, (c) => c.query(`update payment.payments set expires_at = now() where id = $1`, [p.id]));
    const expired = await until(sub, (u) => u.payment.status === 'EXPIRED', 'EXPIRED');
    expect(expired.payment).toMatchObject({ paidLate: false, amountDue: '0.4' });

    await chain.fund(p.address, 'dev-evm:ETH', 4n * 10n ** 17n);
    await chain.mine(2);
    const late = await until(sub, (u) => u.payment.status === 'PAID', 'PAID after expiry');
    expect(late.payment).toMatchObject({ paidLate: true, amountDue: '0' });
    sub.stop();
  });

  it('a reorg that drops the only deposit after it was seen: the deposit REORGED, the payment back to PENDING', async () => {
    const m = await stack.newMerchant('Reorg shop');
    const p = await createPayment(m, 'dev-evm:ETH', '0.5');
    const sub = await followWith(m, p.id, LATE);
    // From an account of its own: the reorg takes its nonce back, which no other test must trip on.
    await sendUnsimulated(evmRpc, anvilAccount(7), p.address, '0x', 5n * 10n ** 17n);
    await until(sub, (u) => u.payment.status === 'CONFIRMING', 'CONFIRMING');
    // The block holding the deposit is replaced by an empty one: the transaction is gone.
    await evmRpc.call('anvil_reorg', [1, []]);
    const back = await until(sub, (u) => u.payment.status === 'PENDING' && u.payment.deposits.some((d) => d.status === 'REORGED'), 'PENDING after the reorg');
    expect(back.payment).toMatchObject({ amountDue: '0.5', deposits: [{ status: 'REORGED' }] });
    sub.stop();
  });
});

describe('the gateway shares one NATS subscription per payment', () => {
  it('5 subscribers of one payment: one NATS subscription, every one of them served, closed with the last', async () => {
    const m = await stack.newMerchant('Popular shop');
    const p = await createPayment(m, 'dev-evm:ETH', '0.5');
    const subscribe = jest.spyOn(stack.gateway.bus.nc, 'subscribe');
    try {
      const subs: WsSub[] = [];
      for (let i = 0; i < 5; i++) subs.push(await follow(m, p.id));
      const forPayment = subscribe.mock.calls.map((c, i) => ({ subject: c[0], sub: subscribe.mock.results[i]!.value })).filter((c) => c.subject.endsWith(p.id));
      expect(forPayment).toHaveLength(1);

      await chainOf('dev-evm:ETH').fund(p.address, 'dev-evm:ETH', 5n * 10n ** 17n);
      for (const s of subs) await untilStatus(s, 'CONFIRMING');

      for (const s of subs.slice(0, 4)) s.stop();
      await new Promise((r) => setTimeout(r, 200));
      expect(forPayment[0]!.sub.isClosed()).toBe(false);
      subs[4]!.stop();
      await waitUntil(() => forPayment[0]!.sub.isClosed(), 'the shared NATS subscription to close with its last subscriber');
    } finally {
      subscribe.mockRestore();
    }
  });
});

describe('privacy', () => {
  it("a merchant cannot subscribe to another merchant's payment: NOT_FOUND", async () => {
    const owner = await stack.newMerchant('Owner');
    const p = await createPayment(owner, 'dev-evm:ETH', '1');
    const nosy = await stack.newMerchant('Nosy');
    const client = connectWs(stack.url, nosy.secret);
    clients.push(client);
    const sub = subscribeWs(client, SUBSCRIPTION, { id: p.id });
    await sub.ended;
    expect(wsEndCode(sub)).toBe('NOT_FOUND');
    expect(updates(sub)).toEqual([]);
  });
});

/**
 * Republishes every event the payment and ledger consumers act on under a second message id, so
 * JetStream's own dedup cannot hide it: each fact reaches its consumer twice.
 */
async function startDuplicator(): Promise<{ copies: Map<string, number>; stop(): Promise<void> }> {
  const bus = await Bus.connect({ url: stack.env.natsUrl, namespace: stack.env.namespace, name: 'e2e-duplicator', log: stack.env.log });
  const prefix = bus.namespaced('');
  const copies = new Map<string, number>();
  const copy = async (e: Envelope, subject: string) => {
    if (e.id.startsWith('dup-')) return;
    await bus.publishEnvelope(subject.slice(prefix.length), { ...e, id: `dup-${e.id}` });
    copies.set(e.type, (copies.get(e.type) ?? 0) + 1);
  };
  const consumers = await Promise.all([
    bus.consume({
      durable: 'e2e-dup-chain',
      types: ['chain.transfer.seen', 'chain.transfer.confirmed', 'chain.transfer.reorged'],
      retryBaseMs: 10,
      handler: (e, ctx) => copy(e, ctx.subject),
    }),
    bus.consume({ durable: 'e2e-dup-ledger', types: ['payment.deposit_ledger'], retryBaseMs: 10, handler: (e, ctx) => copy(e, ctx.subject) }),
  ]);
  return {
    copies,
    stop: async () => {
      for (const c of consumers) await c.stop();
      await bus.close();
    },
  };
}

/** Polls through the gateway, reading a subgraph that is down as "not yet". */
async function settled<T>(read: () => Promise<T | undefined>, what: string, ms = 30_000): Promise<T> {
  return eventually(
    async () => {
      try {
        return await read();
      } catch {
        return undefined;
      }
    },
    what,
    ms,
    100,
  );
}

describe('exactly once under duplicates and restarts', () => {
  it('every event twice, the payment and merchant subgraphs restarted mid-flow: each balance credited once, invariants hold', async () => {
    const dup = await startDuplicator();
    try {
      const m = await stack.newMerchant('Twice shop');
      const payments = [];
      for (const c of CASES) payments.push({ c, p: await createPayment(m, c.coinId, c.amount) });
      const read = async (id: string) =>
        (await gql(stack.url, 'query($id: ID!) { payment(id: $id) { status } }', { id }, m.secret)).data?.payment?.status as string | undefined;

      for (const { c, p } of payments) await chainOf(c.coinId).fund(p.address, c.coinId, c.parts[0] + c.parts[1]);
      // Down the instant the tracker reports the deposits (paid at once, before the tracker may
      // even know the addresses), and again while the credits and confirmations travel.
      await stack.restartSubgraph('payment');

      // Down while the pending credits and then the confirmations are on their way to the ledger.
      await stack.restartSubgraph('merchant');
      await Promise.all([controls['dev-evm']!.mine(2), controls['dev-ltc']!.mine(2)]);
      await stack.restartSubgraph('payment');
      for (const { p } of payments) await settled(async () => (await read(p.id)) === 'PAID' || undefined, `${p.id} PAID`);

      const balances = async () =>
        (await gql(stack.url, '{ me { balances { coin { id } available pending } } }', {}, m.secret)).data?.me?.balances as
          { coin: { id: string }; available: string; pending: string }[] | undefined;
      const expected = CASES.map((c) => ({ coin: { id: c.coinId }, available: c.amount, pending: '0' })).sort((a, b) => a.coin.id.localeCompare(b.coin.id));
      const sorted = (b: { coin: { id: string } }[]) => [...b].sort((x, y) => x.coin.id.localeCompare(y.coin.id));
      await settled(async () => {
        const b = await balances();
        return b && JSON.stringify(sorted(b)) === JSON.stringify(expected) ? b : undefined;
      }, 'each balance credited');

      // Every fact was delivered twice by now, and more blocks bring nothing new.
      await eventually(
        async () => ['chain.transfer.seen', 'chain.transfer.confirmed', 'payment.deposit_ledger'].every((t) => (dup.copies.get(t) ?? 0) >= 3),
        'the duplicates',
      );
      await Promise.all([controls['dev-evm']!.mine(2), controls['dev-ltc']!.mine(2)]);
      await new Promise((r) => setTimeout(r, 1500));
      expect(sorted((await balances())!)).toEqual(expected);

      const inv = await stack.operator('{ ledgerInvariants { ok unbalancedTransactions negativeAccounts mismatchedBalances } }');
      expect(inv.errors).toBeUndefined();
      expect(inv.data.ledgerInvariants).toEqual({ ok: true, unbalancedTransactions: 0, negativeAccounts: 0, mismatchedBalances: 0 });
      // The check is not vacuous: a balance edited behind the ledger's back shows at once.
      const tamper = (delta: number) =>
        withPg(stack.env.databaseUrl, (c) =>
          c.query(`update merchant.ledger_accounts set balance = balance + $2 where merchant_id = $1 and kind = 'available' and coin_id = 'dev-evm:ETH'`, [
            m.id,
            delta,
          ]),
        );
      await tamper(1);
      try {
        const broken = await stack.operator('{ ledgerInvariants { ok mismatchedBalances } }');
        expect(broken.data.ledgerInvariants).toEqual({ ok: false, mismatchedBalances: 1 });
      } finally {
        await tamper(-1);
      }
      // Operator only.
      const asMerchant = await gql(stack.url, '{ ledgerInvariants { ok } }', {}, m.secret);
      expect(asMerchant.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    } finally {
      await dup.stop();
    }
  });
});

describe('fiat prices from a market provider (a local CoinGecko)', () => {
  it('a missing or stale rate refuses createPayment with UNAVAILABLE; a fresh one is locked into the payment', async () => {
    let answer: { status: number; price: number; updatedAt: number } = { status: 500, price: 0, updatedAt: 0 };
    const server = http.createServer((req, res) => {
      const ok = req.url?.startsWith('/simple/price?ids=litecoin&vs_currencies=usd');
      res.writeHead(ok ? answer.status : 404, { 'content-type': 'application/json' });
      res.end(ok && answer.status === 200 ? `{"litecoin":{"usd":${answer.price},"last_updated_at":${answer.updatedAt}}}` : '{}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const payment = await startPaymentSubgraph(stack.env.subgraphConfig(stack.env.natsAuth('payment')), stack.env.log, {
      ...process.env,
      RATE_PROVIDERS: 'coingecko',
      COINGECKO_BASE_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      RATE_MAX_AGE_SECONDS: '60',
    });
    try {
      const gw = await stack.extraGateway({ SUBGRAPH_PAYMENT_URL: payment.url });
      const m = await stack.newMerchant('Fiat shop');
      const CREATE = 'mutation($i: CreatePaymentInput!) { createPayment(input: $i) { id amount rate priceAmount priceCurrency } }';
      const create = () => gql(gw.url, CREATE, { i: { coinId: 'dev-ltc:LTC', priceAmount: '80', priceCurrency: 'USD' } }, m.secret);
      const nowS = () => Math.floor(Date.now() / 1000);

      expect((await create()).errors?.[0]?.extensions?.code).toBe('UNAVAILABLE');
      answer = { status: 200, price: 150, updatedAt: nowS() - 3600 };
      const stale = await create();
      expect(stale.errors?.[0]?.extensions?.code).toBe('UNAVAILABLE');
      expect(stale.data?.createPayment ?? null).toBeNull();

      answer = { status: 200, price: 160, updatedAt: nowS() - 5 };
      const fresh = await create();
      expect(fresh.errors).toBeUndefined();
      expect(fresh.data.createPayment).toMatchObject({ amount: '0.5', rate: '160', priceAmount: '80', priceCurrency: 'USD' });

      // The market moves; the payment keeps the rate it was created at.
      answer = { status: 200, price: 200, updatedAt: nowS() };
      const again = await gql(gw.url, 'query($id: ID!) { payment(id: $id) { amount rate } }', { id: fresh.data.createPayment.id }, m.secret);
      expect(again.data.payment).toEqual({ amount: '0.5', rate: '160' });
    } finally {
      await payment.stop();
      await new Promise((r) => server.close(r));
    }
  });
});
