import { randomBytes, randomUUID } from 'node:crypto';
import { Bus, type EventData } from '@cpg/core/bus';
import { withPg } from '@cpg/devkit/services';
import { eventually, gql } from '@cpg/devkit/testing';
import { type Stack, startStack } from './support/stack';

let stack: Stack;
let bus: Bus;
/** payment.updated events by payment id, in arrival order. */
const updates = new Map<string, { event: string; status: string }[]>();

beforeAll(async () => {
  stack = await startStack();
  bus = await Bus.connect({ url: stack.env.natsUrl, namespace: stack.env.namespace, name: 'payments-test', log: stack.env.log });
  await bus.consume({
    durable: 'payments-test',
    types: ['payment.updated'],
    retryBaseMs: 10,
    handler: async (e) => {
      const list = updates.get(e.data.paymentId) ?? [];
      list.push({ event: e.data.event, status: e.data.status });
      updates.set(e.data.paymentId, list);
    },
  });
});
afterAll(async () => {
  await bus?.close();
  await stack?.stop();
});

const code = (res: { errors?: { extensions?: { code?: string } }[] }) => res.errors?.[0]?.extensions?.code;

const FIELDS = `id orderId status amount amountReceived amountConfirmed amountDue priceAmount priceCurrency rate paidLate expiresAt
  paymentUri checkoutUrl metadata coin { id } address { id address }
  deposits { id txHash index amount status confirmations coin { id } }`;
const CREATE = `mutation($input: CreatePaymentInput!) { createPayment(input: $input) { ${FIELDS} } }`;
const GET = `query($id: ID!) { payment(id: $id) { ${FIELDS} } }`;
const CANCEL = `mutation($id: ID!) { cancelPayment(id: $id) { id status } }`;
const BALANCES = '{ me { balances { coin { id } available pending } } }';

interface PaymentOut {
  id: string;
  orderId: string | null;
  status: string;
  amount: string | null;
  amountReceived: string;
  amountConfirmed: string;
  amountDue: string | null;
  priceAmount: string | null;
  priceCurrency: string | null;
  rate: string | null;
  paidLate: boolean;
  expiresAt: string;
  paymentUri: string;
  checkoutUrl: string;
  metadata: unknown;
  coin: { id: string };
  address: { id: string; address: string };
  deposits: { id: string; txHash: string; index: number; amount: string; status: string; confirmations: number }[];
}

type Merchant = Awaited<ReturnType<Stack['newMerchant']>>;

async function create(m: Merchant, input: Record<string, unknown>): Promise<PaymentOut> {
  const res = await gql(stack.url, CREATE, { input }, m.secret);
  if (!res.data) throw new Error(`createPayment failed: ${JSON.stringify(res.errors)}`);
  return res.data.createPayment;
}

async function get(m: Merchant, id: string): Promise<PaymentOut> {
  const res = await gql(stack.url, GET, { id }, m.secret);
  if (!res.data?.payment) throw new Error(`payment failed: ${JSON.stringify(res.errors)}`);
  return res.data.payment;
}

async function until(m: Merchant, id: string, what: string, ok: (p: PaymentOut) => boolean): Promise<PaymentOut> {
  return eventually(
    async () => {
      const p = await get(m, id);
      return ok(p) ? p : undefined;
    },
    what,
    15_000,
  );
}

async function balance(m: Merchant, coinId: string): Promise<{ available: string; pending: string }> {
  const res = await gql(stack.url, BALANCES, {}, m.secret);
  const row = (res.data.me.balances as { coin: { id: string }; available: string; pending: string }[]).find((b) => b.coin.id === coinId);
  return row ? { available: row.available, pending: row.pending } : { available: '0', pending: '0' };
}

async function balanceIs(m: Merchant, coinId: string, available: string, pending = '0'): Promise<void> {
  await eventually(
    async () => {
      const b = await balance(m, coinId);
      return b.available === available && b.pending === pending;
    },
    `${coinId} balance ${available}/${pending}`,
    15_000,
  );
}

type Kind = 'seen' | 'confirmed' | 'reorged';

/** Stands in for the tracker: a transfer to the payment's address, as the tracker would report it. */
function transferTo(m: Merchant, p: PaymentOut, amount: bigint, overrides: Partial<EventData<'chain.transfer.seen'>> = {}) {
  const network = p.coin.id.split(':')[0]!;
  const data: EventData<'chain.transfer.seen'> = {
    network,
    txHash: `0x${randomBytes(32).toString('hex')}`,
    index: 0,
    from: null,
    to: p.address.address,
    coinId: p.coin.id,
    amount: amount.toString(),
    blockHeight: 100,
    blockHash: `0x${randomBytes(32).toString('hex')}`,
    confirmations: 1,
    addressId: p.address.id,
    merchantId: m.id,
    internal: false,
    ...overrides,
  };
  const publish = (kind: Kind, id: string = randomUUID()) =>
    stack.bus.publish(`chain.transfer.${kind}`, { ...data, confirmations: kind === 'reorged' ? 0 : data.confirmations }, { id, key: data.addressId });
  return { data, publish };
}

const ETH = 10n ** 18n;

describe('creating payments', () => {
  it('by coin amount: a fresh address, an EIP-681 URI, a checkout URL with a long token', async () => {
    const m = await stack.newMerchant();
    const p = await create(m, { coinId: 'dev-evm:ETH', amount: '0.5', description: 'order', metadata: { cart: [1, 2] } });
    expect(p).toMatchObject({
      status: 'PENDING',
      amount: '0.5',
      amountReceived: '0',
      amountConfirmed: '0',
      amountDue: '0.5',
      rate: null,
      paidLate: false,
      metadata: { cart: [1, 2] },
      coin: { id: 'dev-evm:ETH' },
      deposits: [],
    });
    expect(p.paymentUri).toBe(`ethereum:${p.address.address}@31337?value=500000000000000000`);
    expect(p.checkoutUrl).toMatch(/^http:\/\/127\.0\.0\.1:5173\/checkout\/[A-Za-z0-9_-]{43}$/);
    const minutes = (new Date(p.expiresAt).getTime() - Date.now()) / 60_000;
    expect(minutes).toBeGreaterThan(58);
    expect(minutes).toBeLessThanOrEqual(60);

    const second = await create(m, { coinId: 'dev-evm:ETH', amount: '0.5', expiresInMinutes: 5 });
    expect(second.address.address).not.toBe(p.address.address);
    expect((new Date(second.expiresAt).getTime() - Date.now()) / 60_000).toBeLessThanOrEqual(5);
    // Only the hash of the token is stored.
    const token = p.checkoutUrl.split('/').pop()!;
    const stored = await withPg(stack.env.databaseUrl, async (c) => (await c.query('select * from payment.payments where id = $1', [p.id])).rows[0]);
    expect(JSON.stringify(stored)).not.toContain(token);
  });

  it('by fiat price: the amount comes from a locked rate shown in `rate`', async () => {
    const m = await stack.newMerchant();
    const p = await create(m, { coinId: 'dev-ltc:LTC', priceAmount: '40.00', priceCurrency: 'USD' });
    expect(p).toMatchObject({ amount: '0.5', priceAmount: '40', priceCurrency: 'USD', rate: '80' });
    expect(p.paymentUri).toMatch(new RegExp(`^litecoin:${p.address.address}\\?amount=0\\.5`));
    expect(code(await gql(stack.url, CREATE, { input: { coinId: 'dev-ltc:LTC', priceAmount: '1', priceCurrency: 'EUR' } }, m.secret))).toBe('BAD_USER_INPUT');
    expect(code(await gql(stack.url, CREATE, { input: { coinId: 'dev-ltc:LTC', amount: '1', priceAmount: '1', priceCurrency: 'USD' } }, m.secret))).toBe(
      'BAD_USER_INPUT',
    );
    expect(code(await gql(stack.url, CREATE, { input: { coinId: 'nope:X', amount: '1' } }, m.secret))).toBe('BAD_USER_INPUT');
    expect(code(await gql(stack.url, CREATE, { input: { coinId: 'dev-evm:USDT', amount: '1.0000001' } }, m.secret))).toBe('BAD_USER_INPUT');
  });

  it('a retried orderId returns the same payment; a different body with it is CONFLICT', async () => {
    const m = await stack.newMerchant();
    const input = { coinId: 'dev-evm:ETH', amount: '1', orderId: 'order-42' };
    const [a, b] = await Promise.all([create(m, input), create(m, input)]);
    expect(b.id).toBe(a.id);
    expect((await create(m, input)).id).toBe(a.id);
    const changed = await gql(stack.url, CREATE, { input: { ...input, amount: '2' } }, m.secret);
    expect(code(changed)).toBe('CONFLICT');
    // Another merchant's orderId space is its own.
    const other = await stack.newMerchant();
    expect((await create(other, input)).id).not.toBe(a.id);
  });

  it("the merchant's expiry and underpayment tolerance settings reach new payments", async () => {
    const m = await stack.newMerchant();
    const set = await gql(
      stack.url,
      'mutation { updateMerchantSettings(input: { paymentExpiryMinutes: 15, underpaymentTolerance: "0.01" }) { id } }',
      {},
      m.secret,
    );
    expect(set.errors).toBeUndefined();
    const p = await eventually(async () => {
      const x = await create(m, { coinId: 'dev-evm:USDT', amount: '100' });
      return (new Date(x.expiresAt).getTime() - Date.now()) / 60_000 <= 15 ? x : undefined;
    }, 'the settings to reach the payment subgraph');
    // 1% short is within the tolerance: PAID, while amountDue still tells what is missing.
    await transferTo(m, p, 99_000_000n).publish('confirmed');
    const paid = await until(m, p.id, 'PAID within tolerance', (x) => x.status === 'PAID');
    expect(paid.amountDue).toBe('1');
  });

  it('USDT on dev-evm has an EIP-681 token URI with the contract and chain id 31337', async () => {
    const m = await stack.newMerchant();
    const p = await create(m, { coinId: 'dev-evm:USDT', amount: '25' });
    expect(p.paymentUri).toBe(`ethereum:0x5FbDB2315678afecb367f032d93F642f64180aa3@31337/transfer?address=${p.address.address}&uint256=25000000`);
  });

  it('a read-only key cannot create; payments are private to their merchant', async () => {
    const m = await stack.newMerchant();
    const ro = (await gql(stack.url, 'mutation { createApiKey(input: { label: "ro", scopes: [READ] }) { secret } }', {}, m.secret)).data.createApiKey.secret;
    expect(code(await gql(stack.url, CREATE, { input: { coinId: 'dev-evm:ETH', amount: '1' } }, ro))).toBe('FORBIDDEN');
    const p = await create(m, { coinId: 'dev-evm:ETH', amount: '1' });
    expect((await gql(stack.url, GET, { id: p.id }, ro)).data.payment.id).toBe(p.id);
    const other = await stack.newMerchant();
    expect((await gql(stack.url, GET, { id: p.id }, other.secret)).data.payment).toBeNull();
    expect(code(await gql(stack.url, CANCEL, { id: p.id }, other.secret))).toBe('NOT_FOUND');
    expect(code(await gql(stack.url, GET, { id: p.id }))).toBe('UNAUTHENTICATED');
  });
});

describe('listing and checkout', () => {
  it('payments: filters and cursor pagination, newest first', async () => {
    const m = await stack.newMerchant();
    const made: PaymentOut[] = [];
    for (let i = 0; i < 3; i++) made.push(await create(m, { coinId: 'dev-evm:ETH', amount: '1', orderId: `o-${i}` }));
    made.push(await create(m, { coinId: 'dev-ltc:LTC', amount: '1' }));
    const LIST = `query($filter: PaymentFilter, $first: Int, $after: String) { payments(filter: $filter, first: $first, after: $after) { nodes { id } pageInfo { hasNextPage endCursor } } }`;
    const page1 = (await gql(stack.url, LIST, { first: 3 }, m.secret)).data.payments;
    expect(page1.pageInfo.hasNextPage).toBe(true);
    const page2 = (await gql(stack.url, LIST, { first: 3, after: page1.pageInfo.endCursor }, m.secret)).data.payments;
    expect(page2.pageInfo.hasNextPage).toBe(false);
    expect([...page1.nodes, ...page2.nodes].map((n: { id: string }) => n.id)).toEqual(made.map((p) => p.id).reverse());
    expect((await gql(stack.url, LIST, { filter: { orderId: 'o-1' } }, m.secret)).data.payments.nodes).toEqual([{ id: made[1]!.id }]);
    expect((await gql(stack.url, LIST, { filter: { coinId: 'dev-ltc:LTC' } }, m.secret)).data.payments.nodes).toEqual([{ id: made[3]!.id }]);
    expect((await gql(stack.url, LIST, { filter: { status: 'PAID' } }, m.secret)).data.payments.nodes).toEqual([]);
    expect(code(await gql(stack.url, LIST, { after: 'garbage' }, m.secret))).toBe('BAD_USER_INPUT');
    const other = await stack.newMerchant();
    expect((await gql(stack.url, LIST, {}, other.secret)).data.payments.nodes).toEqual([]);
  });

  it('checkout(token) gives an anonymous caller exactly that payment, and null for a bad token', async () => {
    const m = await stack.newMerchant();
    const p = await create(m, { coinId: 'dev-evm:ETH', amount: '0.25' });
    await create(m, { coinId: 'dev-evm:ETH', amount: '0.75' });
    const token = p.checkoutUrl.split('/').pop()!;
    const Q = 'query($t: String!) { checkout(token: $t) { id status amount amountDue paymentUri checkoutUrl address { address } } }';
    const res = await gql(stack.url, Q, { t: token });
    expect(res.errors).toBeUndefined();
    expect(res.data.checkout).toEqual({
      id: p.id,
      status: 'PENDING',
      amount: '0.25',
      amountDue: '0.25',
      paymentUri: p.paymentUri,
      checkoutUrl: p.checkoutUrl,
      address: { address: p.address.address },
    });
    const flipped = token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A');
    expect((await gql(stack.url, Q, { t: flipped })).data.checkout).toBeNull();
    expect((await gql(stack.url, Q, { t: 'x' })).data.checkout).toBeNull();
  });
});

describe('deposits and the status machine', () => {
  it('seen -> CONFIRMING, confirmed -> PAID, credited once however often the event comes', async () => {
    const m = await stack.newMerchant();
    const p = await create(m, { coinId: 'dev-evm:ETH', amount: '0.5' });
    const t = transferTo(m, p, ETH / 2n);
    await t.publish('seen');
    const seen = await until(m, p.id, 'CONFIRMING', (x) => x.status === 'CONFIRMING');
    expect(seen).toMatchObject({ amountReceived: '0.5', amountConfirmed: '0', amountDue: '0' });
    expect(seen.deposits).toEqual([expect.objectContaining({ txHash: t.data.txHash, index: 0, amount: '0.5', status: 'SEEN' })]);
    await balanceIs(m, 'dev-evm:ETH', '0', '0.5');

    const id = randomUUID();
    await t.publish('confirmed', id);
    await t.publish('confirmed', id);
    // The same fact under another message id, as a replay would bring it.
    await t.publish('confirmed');
    const paid = await until(m, p.id, 'PAID', (x) => x.status === 'PAID');
    expect(paid).toMatchObject({ amountConfirmed: '0.5', deposits: [expect.objectContaining({ status: 'CONFIRMED' })] });
    await balanceIs(m, 'dev-evm:ETH', '0.5', '0');

    // A later deposit for another payment passes through both consumers after the repeats did.
    const q = await create(m, { coinId: 'dev-evm:ETH', amount: '0.1' });
    const t2 = transferTo(m, q, ETH / 10n);
    await t2.publish('confirmed');
    await until(m, q.id, 'second PAID', (x) => x.status === 'PAID');
    await balanceIs(m, 'dev-evm:ETH', '0.6', '0');
    const rows = await withPg(
      stack.env.databaseUrl,
      async (c) => (await c.query(`select count(*)::int as n from payment.deposits where payment_id = $1`, [p.id])).rows,
    );
    expect(rows).toEqual([{ n: 1 }]);
    // One payment.updated per transition, none for the repeats.
    await eventually(async () => (updates.get(p.id)?.length ?? 0) >= 4, 'payment.updated events');
    expect(updates.get(p.id)).toEqual([
      { event: 'created', status: 'PENDING' },
      { event: 'deposit_seen', status: 'CONFIRMING' },
      { event: 'confirming', status: 'CONFIRMING' },
      { event: 'paid', status: 'PAID' },
    ]);
  });

  it('a partial deposit -> PARTIALLY_PAID; cancel is refused once something arrived', async () => {
    const m = await stack.newMerchant();
    const p = await create(m, { coinId: 'dev-evm:USDT', amount: '25' });
    await transferTo(m, p, 10_000_000n).publish('seen');
    const partial = await until(m, p.id, 'PARTIALLY_PAID', (x) => x.status === 'PARTIALLY_PAID');
    expect(partial).toMatchObject({ amountReceived: '10', amountDue: '15' });
    expect(partial.paymentUri).toContain('uint256=15000000');
    expect(code(await gql(stack.url, CANCEL, { id: p.id }, m.secret))).toBe('CONFLICT');

    const fresh = await create(m, { coinId: 'dev-evm:USDT', amount: '1' });
    expect((await gql(stack.url, CANCEL, { id: fresh.id }, m.secret)).data.cancelPayment).toEqual({ id: fresh.id, status: 'CANCELLED' });
    expect((await gql(stack.url, CANCEL, { id: fresh.id }, m.secret)).data.cancelPayment.status).toBe('CANCELLED');
  });

  it('a reorg after confirmation takes the status down and reverses the credit', async () => {
    const m = await stack.newMerchant();
    const p = await create(m, { coinId: 'dev-ltc:LTC', amount: '1' });
    const t = transferTo(m, p, 100_000_000n);
    await t.publish('seen');
    await t.publish('confirmed');
    await until(m, p.id, 'PAID', (x) => x.status === 'PAID');
    await balanceIs(m, 'dev-ltc:LTC', '1');
    await t.publish('reorged');
    const down = await until(m, p.id, 'back to PENDING', (x) => x.status === 'PENDING');
    expect(down).toMatchObject({ amountReceived: '0', amountDue: '1', deposits: [expect.objectContaining({ status: 'REORGED' })] });
    await eventually(async () => updates.get(p.id)?.some((u) => u.event === 'deposit_reorged' && u.status === 'PENDING'), 'payment.updated deposit_reorged');
    await balanceIs(m, 'dev-ltc:LTC', '0');
  });

  it('internal transfers are not deposits', async () => {
    const m = await stack.newMerchant();
    const p = await create(m, { coinId: 'dev-evm:ETH', amount: '0.5' });
    await transferTo(m, p, ETH, { internal: true }).publish('confirmed');
    const marker = await create(m, { coinId: 'dev-evm:ETH', amount: '0.5' });
    await transferTo(m, marker, ETH / 2n).publish('seen');
    await until(m, marker.id, 'marker CONFIRMING', (x) => x.status === 'CONFIRMING');
    expect((await get(m, p.id)).deposits).toEqual([]);
  });

  it('a chain event whose subject names another network than its payload, or a network not configured, changes nothing', async () => {
    const m = await stack.newMerchant();
    const p = await create(m, { coinId: 'dev-evm:ETH', amount: '0.5' });
    const forged = transferTo(m, p, ETH);
    const envelope = (data: EventData<'chain.transfer.confirmed'>) => ({
      id: randomUUID(),
      type: 'chain.transfer.confirmed',
      occurredAt: new Date().toISOString(),
      data,
    });
    const dropped = async () =>
      ((await (await fetch(`http://127.0.0.1:${stack.subgraphs.payment.port}/readyz`)).json()) as { counters: Record<string, number> }).counters[
        'payment.chain_event.dropped'
      ] ?? 0;
    const before = await dropped();
    // On dev-ltc's subjects (where a publisher allowed only there could write), claiming dev-evm inside.
    await stack.bus.publishEnvelope(`chain.dev-ltc.transfer.confirmed.${p.address.id}`, envelope(forged.data));
    // Subject and payload agree, on a network this gateway does not configure.
    await stack.bus.publishEnvelope(
      `chain.nowhere.transfer.confirmed.${p.address.id}`,
      envelope({ ...forged.data, network: 'nowhere', txHash: `0x${randomBytes(32).toString('hex')}` }),
    );
    // One consumer takes chain events in order: once this marker is applied, both were handled.
    const marker = await create(m, { coinId: 'dev-evm:ETH', amount: '0.5' });
    await transferTo(m, marker, ETH / 2n).publish('seen');
    await until(m, marker.id, 'marker CONFIRMING', (x) => x.status === 'CONFIRMING');
    expect(await get(m, p.id)).toMatchObject({ status: 'PENDING', amountReceived: '0', deposits: [] });
    const rows = await withPg(
      stack.env.databaseUrl,
      async (c) => (await c.query(`select 1 from payment.deposits where tx_hash = $1`, [forged.data.txHash])).rows,
    );
    expect(rows).toEqual([]);
    expect(await dropped()).toBe(before + 2);
    expect(await balance(m, 'dev-evm:ETH')).toEqual({ available: '0', pending: '0.5' });
  });

  it('a deposit to a customer’s reused address with no open payment is credited as unsolicited', async () => {
    const m = await stack.newMerchant();
    const a = await create(m, { coinId: 'dev-evm:ETH', amount: '0.5', customerId: 'cust-1' });
    const t = transferTo(m, a, ETH / 2n);
    await t.publish('confirmed');
    await until(m, a.id, 'PAID', (x) => x.status === 'PAID');
    await balanceIs(m, 'dev-evm:ETH', '0.5');

    const extra = transferTo(m, a, ETH / 4n);
    await extra.publish('seen');
    await extra.publish('confirmed');
    await balanceIs(m, 'dev-evm:ETH', '0.75');
    const after = await get(m, a.id);
    expect(after).toMatchObject({ status: 'PAID', amountReceived: '0.5' });
    expect(after.deposits).toHaveLength(1);
    const [row] = await withPg(
      stack.env.databaseUrl,
      async (c) => (await c.query(`select payment_id, status from payment.deposits where tx_hash = $1`, [extra.data.txHash])).rows,
    );
    expect(row).toEqual({ payment_id: null, status: 'CONFIRMED' });

    // The customer's next payment reuses the address; another customer gets a fresh one.
    const b = await create(m, { coinId: 'dev-evm:ETH', amount: '1', customerId: 'cust-1' });
    expect(b.address).toEqual(a.address);
    const c = await create(m, { coinId: 'dev-evm:ETH', amount: '1', customerId: 'cust-2' });
    expect(c.address.address).not.toBe(a.address.address);
  });

  it('a below-minimum deposit is shown but neither counted nor credited', async () => {
    const m = await stack.newMerchant();
    const p = await create(m, { coinId: 'dev-evm:ETH', amount: '0.5' });
    const dust = transferTo(m, p, 10n ** 13n);
    await dust.publish('seen');
    await dust.publish('confirmed');
    const shown = await until(m, p.id, 'dust deposit shown', (x) => x.deposits.some((d) => d.status === 'CONFIRMED'));
    expect(shown).toMatchObject({ status: 'PENDING', amountReceived: '0', amountConfirmed: '0', amountDue: '0.5' });
    expect(shown.deposits).toEqual([expect.objectContaining({ amount: '0.00001', status: 'CONFIRMED' })]);
    // A real deposit after it is credited, and only it.
    await transferTo(m, p, ETH / 2n).publish('confirmed');
    await until(m, p.id, 'PAID', (x) => x.status === 'PAID');
    await balanceIs(m, 'dev-evm:ETH', '0.5');
  });

  it('expiry makes a payment EXPIRED; a late deposit still pays it, marked paidLate', async () => {
    const m = await stack.newMerchant();
    const p = await create(m, { coinId: 'dev-evm:ETH', amount: '0.5', expiresInMinutes: 1 });
    // Time passing, without waiting for it.
    await withPg(stack.env.databaseUrl, (c) => c.query(`update payment.payments set expires_at = now() - interval '1 second' where id = $1`, [p.id]));
    await until(m, p.id, 'EXPIRED', (x) => x.status === 'EXPIRED');
    await eventually(async () => updates.get(p.id)?.some((u) => u.event === 'expired' && u.status === 'EXPIRED'), 'payment.updated expired');
    const t = transferTo(m, p, ETH / 2n);
    await t.publish('seen');
    const late = await until(m, p.id, 'late CONFIRMING', (x) => x.status === 'CONFIRMING');
    expect(late.paidLate).toBe(true);
    await t.publish('confirmed');
    await until(m, p.id, 'late PAID', (x) => x.status === 'PAID' && x.paidLate);
    await eventually(async () => updates.get(p.id)?.some((u) => u.event === 'paid_late'), 'payment.updated paid_late');
    await balanceIs(m, 'dev-evm:ETH', '0.5');
  });
});
