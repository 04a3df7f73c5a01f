import { randomBytes, randomUUID } from 'node:crypto';
import { Bus, type EventData } from '@cpg/core/bus';
import { parseAmount } from '@cpg/core/money';
import { withPg } from '@cpg/devkit/services';
import { type GraphQLResponse, eventually, gql } from '@cpg/devkit/testing';
import { type Stack, startStack } from './support/stack';
import { connectWs, subscribeWs } from './support/ws';

/**
 * Withdrawals through the real gateway, on real Postgres and NATS. The test plays the signer: it
 * reads `withdrawal.batch.ready` and answers with `withdrawal.batch.updated`, so the withdrawal
 * subgraph and the ledger are checked on their own (the stack's signer serves keys only: it
 * makes HOT wallets and payment addresses, and sends nothing).
 */

let stack: Stack;
let bus: Bus;
/** withdrawal.batch.ready by batch id. */
const ready = new Map<string, EventData<'withdrawal.batch.ready'>>();
/** Subjects withdrawal.updated arrived on, by withdrawal id. */
const updatedSubjects = new Map<string, string[]>();

/** A merchant with a 10 USDT payment. */
let refundMerchant: Merchant;
let refundPaymentRow: { id: string; address: { id: string; address: string } };

beforeAll(async () => {
  stack = await startStack({}, { signerConfig: { SIGNER_WITHDRAWALS: '0' } });
  refundMerchant = await stack.newMerchant('refund');
  const created = await gql(
    stack.url,
    'mutation { createPayment(input: { coinId: "dev-evm:USDT", amount: "10" }) { id address { id address } } }',
    {},
    refundMerchant.secret,
  );
  if (!created.data) throw new Error(`createPayment failed: ${JSON.stringify(created.errors)}`);
  refundPaymentRow = created.data.createPayment;
  bus = await Bus.connect({ url: stack.env.natsUrl, namespace: stack.env.namespace, name: 'withdrawals-test', log: stack.env.log });
  await bus.consume({
    durable: 'withdrawals-test-ready',
    types: ['withdrawal.batch.ready'],
    retryBaseMs: 10,
    handler: async (e) => {
      ready.set(e.data.batchId, e.data);
    },
  });
  await bus.consume({
    durable: 'withdrawals-test-updated',
    types: ['withdrawal.updated'],
    retryBaseMs: 10,
    handler: async (e, ctx) => {
      const list = updatedSubjects.get(e.data.withdrawalId) ?? [];
      list.push(ctx.subject);
      updatedSubjects.set(e.data.withdrawalId, list);
    },
  });
});
afterAll(async () => {
  await bus?.close();
  await stack?.stop();
});

type Merchant = Awaited<ReturnType<Stack['newMerchant']>>;
type Res = GraphQLResponse;

const code = (res: Res) => res.errors?.[0]?.extensions?.code;

/** One GraphQL call through the gateway (no retry: a failure inside the gateway fails the test). */
async function call(query: string, variables: Record<string, unknown> = {}, token?: string): Promise<Res> {
  return gql(stack.url, query, variables, token);
}
const EVM_TO = '0x8ba1f109551bd432803012645ac136ddd64dba72';
/** The same address as the codec normalises it (EIP-55). */
const EVM_TO_NORMAL = '0x8ba1f109551bD432803012645Ac136ddd64DBA72';
const W =
  'id status amount fee feeCoin { id } txHash failureReason waitingReason idempotencyKey toAddress coin { id } batch { id status txHash withdrawals { id } }';
const REQUEST = `mutation($input: RequestWithdrawalInput!) { requestWithdrawal(input: $input) { ${W} } }`;
const GET = `query($id: ID!) { withdrawal(id: $id) { ${W} } }`;
const CANCEL = `mutation($id: ID!) { cancelWithdrawal(id: $id) { ${W} } }`;
const APPROVE = `mutation($id: ID!) { approveWithdrawal(id: $id) { ${W} } }`;
const REJECT = `mutation($id: ID!, $r: String!) { rejectWithdrawal(id: $id, reason: $r) { ${W} } }`;
const SET_LIMIT = `mutation($input: SetWithdrawalLimitInput!) { setWithdrawalLimit(input: $input) { coin { id } min max daily approvalAbove } }`;

interface WOut {
  id: string;
  status: string;
  amount: string;
  fee: string | null;
  feeCoin: { id: string } | null;
  txHash: string | null;
  failureReason: string | null;
  waitingReason: string | null;
  batch: { id: string; status: string; txHash: string | null; withdrawals: { id: string }[] } | null;
}

function request(m: Merchant, input: { coinId: string; toAddress?: string; amount: string; idempotencyKey?: string }): Promise<Res> {
  return call(REQUEST, { input: { toAddress: EVM_TO, idempotencyKey: randomUUID(), ...input } }, m.secret);
}

async function requestOk(m: Merchant, input: Parameters<typeof request>[1]): Promise<WOut> {
  const res = await request(m, input);
  if (!res.data?.requestWithdrawal) throw new Error(`requestWithdrawal failed: ${JSON.stringify(res.errors)}`);
  return res.data.requestWithdrawal;
}

async function get(m: Merchant, id: string): Promise<WOut | null> {
  const res = await call(GET, { id }, m.secret);
  if (res.errors) throw new Error(JSON.stringify(res.errors));
  return res.data.withdrawal;
}

async function until(m: Merchant, id: string, what: string, ok: (w: WOut) => boolean): Promise<WOut> {
  return eventually(
    async () => {
      const w = await get(m, id);
      return w && ok(w) ? w : undefined;
    },
    what,
    15_000,
  );
}

async function balance(m: Merchant, coinId: string): Promise<{ available: string; held: string; debt?: string }> {
  const res = await call('{ me { balances { coin { id } available held } } }', {}, m.secret);
  const row = (res.data.me.balances as { coin: { id: string }; available: string; held: string }[]).find((b) => b.coin.id === coinId);
  return row ? { available: row.available, held: row.held } : { available: '0', held: '0' };
}

/**
 * Credits the merchant's available balance the way the payment subgraph tells the ledger about a
 * confirmed transfer (held until compliance decides) and then about a clean sender's CLEAR (a
 * credit is spendable only once compliance has decided: see screen-before-spend.test.ts).
 */
async function credit(m: Merchant, coinId: string, units: bigint, expectAvailable: string): Promise<void> {
  const network = coinId.split(':')[0]!;
  const deposit = { network, txHash: `0x${randomBytes(32).toString('hex')}`, index: 0, coinId, generation: 0 };
  const told = { merchantId: m.id, paymentId: null, amount: units.toString(), deposit };
  await stack.bus.publish(
    'payment.deposit_ledger',
    { ...told, effect: 'credit', credit: 'deposit_pending_screening', fromPending: false },
    { id: randomUUID(), key: m.id },
  );
  await stack.bus.publish('payment.deposit_ledger', { ...told, effect: 'clear', moves: true }, { id: randomUUID(), key: m.id });
  await eventually(async () => (await balance(m, coinId)).available === expectAvailable, `available ${expectAvailable} ${coinId}`, 15_000);
}

async function signer(batchId: string, status: EventData<'withdrawal.batch.updated'>['status'], extra: Partial<EventData<'withdrawal.batch.updated'>> = {}) {
  const b = ready.get(batchId);
  if (!b) throw new Error(`no batch.ready for ${batchId}`);
  await bus.publish(
    'withdrawal.batch.updated',
    {
      batchId,
      merchantId: b.merchantId,
      network: b.network,
      coinId: b.coinId,
      status,
      txHash: null,
      fee: null,
      feeCoinId: null,
      reason: null,
      confirmations: 0,
      ...extra,
    },
    { id: randomUUID(), key: batchId },
  );
}

async function invariantsOk(): Promise<void> {
  const inv = await call('{ ledgerInvariants { ok unbalancedTransactions negativeAccounts mismatchedBalances } }', {}, stack.env.operatorToken);
  expect(inv.data.ledgerInvariants).toEqual({ ok: true, unbalancedTransactions: 0, negativeAccounts: 0, mismatchedBalances: 0 });
}

async function aggregation(m: Merchant, input: Record<string, unknown>): Promise<void> {
  const res = await call('mutation($input: UpdateMerchantSettingsInput!) { updateMerchantSettings(input: $input) { id } }', { input }, m.secret);
  expect(res.errors).toBeUndefined();
  // The withdrawal subgraph keeps its own copy of the settings, fed by merchant events.
  await eventually(
    () =>
      withPg(stack.env.databaseUrl, async (c) => {
        const r = await c.query('select withdrawal_aggregation, batch_max_size from withdrawal.merchant_settings where merchant_id = $1', [m.id]);
        const row = r.rows[0] as { withdrawal_aggregation: string; batch_max_size: number } | undefined;
        return row?.withdrawal_aggregation === input.withdrawalAggregation && (input.batchMaxSize === undefined || row?.batch_max_size === input.batchMaxSize);
      }),
    'aggregation settings to reach the withdrawal subgraph',
    15_000,
  );
}

describe('requestWithdrawal: validation, idempotency, funds', () => {
  it('refuses bad input with stable codes and changes nothing', async () => {
    const m = await stack.newMerchant('validation');
    await credit(m, 'dev-evm:USDT', 5_000_000n, '5');
    const cases: [Parameters<typeof request>[1], string | null][] = [
      [{ coinId: 'dev-evm:NOPE', amount: '1' }, 'coinId'],
      [{ coinId: 'dev-evm:USDT', amount: '1', toAddress: 'not-an-address' }, 'toAddress'],
      [{ coinId: 'dev-evm:USDT', amount: '1', toAddress: 'bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq' }, 'toAddress'],
      [{ coinId: 'dev-evm:USDT', amount: '0' }, 'amount'],
      // Refused by the Amount scalar before the resolver: the code is the same, without a field.
      [{ coinId: 'dev-evm:USDT', amount: '-1' }, null],
      [{ coinId: 'dev-evm:USDT', amount: '1.0000001' }, 'amount'],
      [{ coinId: 'dev-evm:USDT', amount: '1', idempotencyKey: '' }, 'idempotencyKey'],
    ];
    for (const [input, field] of cases) {
      const res = await request(m, input);
      expect({ field, code: code(res) }).toEqual({ field, code: 'BAD_USER_INPUT' });
      if (field) expect(res.errors?.[0]?.extensions?.field).toBe(field);
    }
    const poor = await request(m, { coinId: 'dev-evm:USDT', amount: '5.000001' });
    expect(code(poor)).toBe('INSUFFICIENT_FUNDS');
    const list = await call('{ withdrawals { nodes { id } } }', {}, m.secret);
    expect(list.data.withdrawals.nodes).toEqual([]);
    expect(await balance(m, 'dev-evm:USDT')).toEqual({ available: '5', held: '0' });
    // A read-only key may not withdraw.
    const key = await call('mutation { createApiKey(input: { label: "ro", scopes: [READ] }) { secret } }', {}, m.secret);
    const ro = await request({ ...m, secret: key.data.createApiKey.secret }, { coinId: 'dev-evm:USDT', amount: '1' });
    expect(code(ro)).toBe('FORBIDDEN');
  });

  it('answers a repeated key with the same withdrawal and a different body with CONFLICT', async () => {
    const m = await stack.newMerchant('idempotency');
    await credit(m, 'dev-evm:USDT', 10_000_000n, '10');
    const key = `order-${randomUUID()}`;
    const first = await requestOk(m, { coinId: 'dev-evm:USDT', amount: '2.5', idempotencyKey: key });
    const [again, twin] = await Promise.all([
      requestOk(m, { coinId: 'dev-evm:USDT', amount: '2.50', idempotencyKey: key }),
      requestOk(m, { coinId: 'dev-evm:USDT', amount: '2.5', idempotencyKey: key }),
    ]);
    expect(again.id).toBe(first.id);
    expect(twin.id).toBe(first.id);
    const other = await request(m, { coinId: 'dev-evm:USDT', amount: '3', idempotencyKey: key });
    expect(code(other)).toBe('CONFLICT');
    const otherAddress = await request(m, {
      coinId: 'dev-evm:USDT',
      amount: '2.5',
      idempotencyKey: key,
      toAddress: '0x0000000000000000000000000000000000000001',
    });
    expect(code(otherAddress)).toBe('CONFLICT');
    expect(await balance(m, 'dev-evm:USDT')).toEqual({ available: '7.5', held: '2.5' });
    // Another merchant never sees it.
    const stranger = await stack.newMerchant('stranger');
    expect(await get(stranger, first.id)).toBeNull();
    expect(code(await call(CANCEL, { id: first.id }, stranger.secret))).toBe('NOT_FOUND');
  });

  it('accepts exactly the affordable ones of 100 concurrent requests and never overdraws', async () => {
    const m = await stack.newMerchant('crowd');
    await credit(m, 'dev-evm:USDT', 10_000_000n, '10');
    const results = await Promise.all(Array.from({ length: 100 }, () => request(m, { coinId: 'dev-evm:USDT', amount: '0.25' })));
    const accepted = results.filter((r) => r.data?.requestWithdrawal);
    const refused = results.filter((r) => code(r) === 'INSUFFICIENT_FUNDS');
    expect({ accepted: accepted.length, refused: refused.length }).toEqual({ accepted: 40, refused: 60 });
    expect(await balance(m, 'dev-evm:USDT')).toEqual({ available: '0', held: '10' });
    const list = await call('{ withdrawals(first: 200) { nodes { id } pageInfo { hasNextPage } } }', {}, m.secret);
    expect(list.data.withdrawals.nodes).toHaveLength(40);
    await invariantsOk();
  });
});

describe('limits and approvals', () => {
  it('enforces min, max and the rolling daily sum', async () => {
    const m = await stack.newMerchant('limits');
    await credit(m, 'dev-evm:USDT', 100_000_000n, '100');
    const set = await call(SET_LIMIT, { input: { coinId: 'dev-evm:USDT', min: '1', max: '10', daily: '15' } }, m.secret);
    expect(set.data.setWithdrawalLimit).toEqual({ coin: { id: 'dev-evm:USDT' }, min: '1', max: '10', daily: '15', approvalAbove: null });
    const bad = await call(SET_LIMIT, { input: { coinId: 'dev-evm:USDT', min: '5', max: '1', daily: '15' } }, m.secret);
    expect(code(bad)).toBe('BAD_USER_INPUT');
    const limitOf = (r: Res) => [code(r), r.errors?.[0]?.extensions?.limit];
    expect(limitOf(await request(m, { coinId: 'dev-evm:USDT', amount: '0.5' }))).toEqual(['BAD_USER_INPUT', 'min']);
    expect(limitOf(await request(m, { coinId: 'dev-evm:USDT', amount: '10.01' }))).toEqual(['BAD_USER_INPUT', 'max']);
    await requestOk(m, { coinId: 'dev-evm:USDT', amount: '10' });
    await requestOk(m, { coinId: 'dev-evm:USDT', amount: '5' });
    expect(limitOf(await request(m, { coinId: 'dev-evm:USDT', amount: '1' }))).toEqual(['BAD_USER_INPUT', 'daily']);
    // Other coins have no limit.
    await credit(m, 'dev-evm:ETH', 10n ** 18n, '1');
    await requestOk(m, { coinId: 'dev-evm:ETH', amount: '0.5' });
    const limits = await call('{ withdrawalLimits { coin { id } min max daily } }', {}, m.secret);
    expect(limits.data.withdrawalLimits).toEqual([{ coin: { id: 'dev-evm:USDT' }, min: '1', max: '10', daily: '15' }]);
    expect(await balance(m, 'dev-evm:USDT')).toEqual({ available: '85', held: '15' });
  });

  it('holds large withdrawals for the operator; rejection releases the hold', async () => {
    const m = await stack.newMerchant('approvals');
    await credit(m, 'dev-evm:USDT', 100_000_000n, '100');
    await call(SET_LIMIT, { input: { coinId: 'dev-evm:USDT', min: '0', max: '100', daily: '100', approvalAbove: '20' } }, m.secret);
    const small = await requestOk(m, { coinId: 'dev-evm:USDT', amount: '20' });
    expect(small.status).toBe('BATCHED');
    const big = await requestOk(m, { coinId: 'dev-evm:USDT', amount: '30' });
    const bigger = await requestOk(m, { coinId: 'dev-evm:USDT', amount: '40' });
    expect([big.status, bigger.status]).toEqual(['PENDING_APPROVAL', 'PENDING_APPROVAL']);
    expect(await balance(m, 'dev-evm:USDT')).toEqual({ available: '10', held: '90' });

    expect(code(await call(APPROVE, { id: big.id }, m.secret))).toBe('FORBIDDEN');
    const approved = await call(APPROVE, { id: big.id }, stack.env.operatorToken);
    expect(approved.data.approveWithdrawal.status).toBe('BATCHED');
    expect(code(await call(APPROVE, { id: big.id }, stack.env.operatorToken))).toBe('CONFLICT');

    const rejected = await call(REJECT, { id: bigger.id, r: 'destination not verified' }, stack.env.operatorToken);
    expect(rejected.data.rejectWithdrawal).toMatchObject({ status: 'REJECTED', failureReason: 'destination not verified' });
    expect(code(await call(REJECT, { id: randomUUID(), r: 'x' }, stack.env.operatorToken))).toBe('NOT_FOUND');
    await eventually(async () => (await balance(m, 'dev-evm:USDT')).held === '50', 'the rejected hold released', 15_000);
    expect(await balance(m, 'dev-evm:USDT')).toEqual({ available: '50', held: '50' });
    await invariantsOk();
  });

  it('cancels a withdrawal waiting for approval and releases its hold', async () => {
    const m = await stack.newMerchant('cancel-approval');
    await credit(m, 'dev-evm:USDT', 10_000_000n, '10');
    await call(SET_LIMIT, { input: { coinId: 'dev-evm:USDT', min: '0', max: '10', daily: '10', approvalAbove: '1' } }, m.secret);
    const w = await requestOk(m, { coinId: 'dev-evm:USDT', amount: '4' });
    expect(w.status).toBe('PENDING_APPROVAL');
    const cancelled = await call(CANCEL, { id: w.id }, m.secret);
    expect(cancelled.data.cancelWithdrawal.status).toBe('CANCELLED');
    expect(code(await call(CANCEL, { id: w.id }, m.secret))).toBe('CONFLICT');
    await eventually(async () => (await balance(m, 'dev-evm:USDT')).held === '0', 'the cancelled hold released', 15_000);
    expect(await balance(m, 'dev-evm:USDT')).toEqual({ available: '10', held: '0' });
    // Cancelled ones do not count towards the daily limit.
    await requestOk(m, { coinId: 'dev-evm:USDT', amount: '1' });
  });
});

describe('batches and the signer', () => {
  it('NONE: a batch of one at once; confirmation settles once even when delivered twice, with the fee on the native coin', async () => {
    const m = await stack.newMerchant('none');
    await credit(m, 'dev-evm:USDT', 10_000_000n, '10');
    await credit(m, 'dev-evm:ETH', 10n ** 16n, '0.01');
    const client = connectWs(stack.url, m.secret);
    const w = await requestOk(m, { coinId: 'dev-evm:USDT', amount: '3' });
    const sub = subscribeWs(client, 'subscription($id: ID!) { withdrawalUpdated(id: $id) { id status txHash } }', { id: w.id });
    try {
      expect(w.status).toBe('BATCHED');
      const batchId = w.batch!.id;
      await eventually(async () => ready.has(batchId), 'batch.ready', 15_000);
      expect(ready.get(batchId)).toEqual({
        batchId,
        merchantId: m.id,
        network: 'dev-evm',
        coinId: 'dev-evm:USDT',
        items: [{ withdrawalId: w.id, toAddress: EVM_TO_NORMAL, amount: '3000000' }],
      });
      // Give the subscription a moment to be listening.
      await new Promise((r) => setTimeout(r, 300));

      await signer(batchId, 'WAITING_FUNDS', { reason: 'hot wallet holds 0 USDT, needs 3' });
      await until(m, w.id, 'the waiting reason', (x) => x.waitingReason === 'hot wallet holds 0 USDT, needs 3');
      await signer(batchId, 'BROADCAST', { txHash: '0xaaa' });
      await until(m, w.id, 'BROADCAST', (x) => x.status === 'BROADCAST' && x.txHash === '0xaaa' && x.waitingReason === null);
      const confirmed = { txHash: '0xbbb', fee: '21000000000000', feeCoinId: 'dev-evm:ETH', confirmations: 1 };
      await signer(batchId, 'CONFIRMED', confirmed);
      await signer(batchId, 'CONFIRMED', confirmed);
      const done = await until(m, w.id, 'CONFIRMED', (x) => x.status === 'CONFIRMED');
      expect(done).toMatchObject({
        txHash: '0xbbb',
        fee: '0.000021',
        feeCoin: { id: 'dev-evm:ETH' },
        batch: { id: batchId, status: 'CONFIRMED', txHash: '0xbbb' },
      });
      // A late failure report changes nothing.
      await signer(batchId, 'FAILED', { reason: 'late' });
      await eventually(async () => (await balance(m, 'dev-evm:USDT')).held === '0', 'the settle', 15_000);
      await new Promise((r) => setTimeout(r, 500));
      expect(await balance(m, 'dev-evm:USDT')).toEqual({ available: '7', held: '0' });
      expect(await balance(m, 'dev-evm:ETH')).toEqual({ available: '0.009979', held: '0' });
      expect((await get(m, w.id))!.status).toBe('CONFIRMED');
      await invariantsOk();
      // Every status change went out on withdrawal.updated.<id>, the subject the gateway listens on.
      const subjects = updatedSubjects.get(w.id) ?? [];
      expect(subjects.length).toBeGreaterThanOrEqual(4);
      expect(new Set(subjects)).toEqual(new Set([`${stack.env.namespace}.evt.withdrawal.updated.${w.id}`]));
      await eventually(async () => sub.results.some((r) => r.data?.withdrawalUpdated?.status === 'CONFIRMED'), 'the CONFIRMED subscription push', 15_000);
    } finally {
      sub.stop();
      await client.dispose();
    }
  });

  it('FAILED releases the holds of the batch with the reason', async () => {
    const m = await stack.newMerchant('failed');
    await credit(m, 'dev-evm:ETH', 10n ** 18n, '1');
    const w = await requestOk(m, { coinId: 'dev-evm:ETH', amount: '0.4' });
    await eventually(async () => ready.has(w.batch!.id), 'batch.ready', 15_000);
    expect(await balance(m, 'dev-evm:ETH')).toEqual({ available: '0.6', held: '0.4' });
    await signer(w.batch!.id, 'SIGNING');
    await signer(w.batch!.id, 'FAILED', { reason: 'nonce too low' });
    const failed = await until(m, w.id, 'FAILED', (x) => x.status === 'FAILED');
    expect(failed.failureReason).toBe('nonce too low');
    await eventually(async () => (await balance(m, 'dev-evm:ETH')).held === '0', 'the release', 15_000);
    expect(await balance(m, 'dev-evm:ETH')).toEqual({ available: '1', held: '0' });
    await invariantsOk();
  });

  it('FAILED with a fee (mined but reverted) releases the amount and charges the gas, once', async () => {
    const m = await stack.newMerchant('reverted');
    await credit(m, 'dev-evm:USDT', 10_000_000n, '10');
    await credit(m, 'dev-evm:ETH', 10n ** 16n, '0.01');
    const w = await requestOk(m, { coinId: 'dev-evm:USDT', amount: '3' });
    await eventually(async () => ready.has(w.batch!.id), 'batch.ready', 15_000);
    await signer(w.batch!.id, 'BROADCAST', { txHash: '0xddd' });
    const reverted = {
      txHash: '0xddd',
      fee: '30000000000000',
      feeCoinId: 'dev-evm:ETH',
      reason: 'transaction 0xddd reverted on chain in block 7; nothing was paid out, but its gas (fee) was spent',
      confirmations: 1,
    };
    await signer(w.batch!.id, 'FAILED', reverted);
    await signer(w.batch!.id, 'FAILED', reverted);
    const failed = await until(m, w.id, 'FAILED', (x) => x.status === 'FAILED');
    expect(failed).toMatchObject({ failureReason: reverted.reason, fee: '0.00003', feeCoin: { id: 'dev-evm:ETH' }, txHash: '0xddd' });
    await eventually(async () => (await balance(m, 'dev-evm:ETH')).available === '0.00997', 'the gas charged', 15_000);
    await eventually(async () => (await balance(m, 'dev-evm:USDT')).held === '0', 'the release', 15_000);
    await new Promise((r) => setTimeout(r, 500));
    expect(await balance(m, 'dev-evm:USDT')).toEqual({ available: '10', held: '0' });
    expect(await balance(m, 'dev-evm:ETH')).toEqual({ available: '0.00997', held: '0' });
    await invariantsOk();
  });

  it('BATCH: 20 queued withdrawals become one batch.ready with 20 items', async () => {
    const m = await stack.newMerchant('batch');
    await credit(m, 'dev-evm:USDT', 100_000_000n, '100');
    await aggregation(m, { withdrawalAggregation: 'BATCH', batchMaxSize: 20, batchMaxWaitSeconds: 3600 });
    const first = await Promise.all(Array.from({ length: 19 }, (_, i) => requestOk(m, { coinId: 'dev-evm:USDT', amount: `1.${i + 1}` })));
    expect(first.every((w) => w.status === 'QUEUED')).toBe(true);
    // Still below the size and far from the wait: nothing goes out.
    await new Promise((r) => setTimeout(r, 1500));
    expect([...ready.values()].filter((b) => b.merchantId === m.id)).toEqual([]);
    const last = await requestOk(m, { coinId: 'dev-evm:USDT', amount: '2' });
    const batches = await eventually(
      async () => {
        const mine = [...ready.values()].filter((b) => b.merchantId === m.id);
        return mine.length ? mine : undefined;
      },
      'the batch',
      15_000,
    );
    expect(batches).toHaveLength(1);
    expect(batches[0]!.items).toHaveLength(20);
    expect(new Set(batches[0]!.items.map((i) => i.withdrawalId))).toEqual(new Set([...first, last].map((w) => w.id)));
    const read = await until(m, last.id, 'BATCHED', (x) => x.status === 'BATCHED');
    expect(read.batch!.withdrawals).toHaveLength(20);
    // Settled one by one; the fee is split over the 20, the remainder on the first.
    await signer(batches[0]!.batchId, 'CONFIRMED', { txHash: '0xccc', fee: '1000003', feeCoinId: 'dev-evm:ETH', confirmations: 1 });
    await until(m, last.id, 'CONFIRMED', (x) => x.status === 'CONFIRMED');
    const all = await call('{ withdrawals(first: 50, filter: { status: CONFIRMED }) { nodes { fee txHash } } }', {}, m.secret);
    expect(all.data.withdrawals.nodes).toHaveLength(20);
    const fees = all.data.withdrawals.nodes.map((n: { fee: string }) => parseAmount(n.fee, 18));
    expect(fees.reduce((a: bigint, b: bigint) => a + b, 0n)).toBe(1_000_003n);
    await eventually(async () => (await balance(m, 'dev-evm:USDT')).held === '0', 'all settled', 15_000);
    await invariantsOk();
  });

  it('a cancel racing the batcher has exactly one winner, every time', async () => {
    const m = await stack.newMerchant('race');
    await credit(m, 'dev-evm:USDT', 100_000_000n, '100');
    await aggregation(m, { withdrawalAggregation: 'BATCH', batchMaxSize: 1, batchMaxWaitSeconds: 0 });
    let cancelled = 0;
    let batched = 0;
    let heldUnits = 0n;
    for (let i = 0; i < 25; i++) {
      const w = await requestOk(m, { coinId: 'dev-evm:USDT', amount: '1' });
      // Let the batcher (woken by the request) and the cancel meet at different points.
      if (i % 3) await new Promise((r) => setTimeout(r, i % 5));
      const res = await call(CANCEL, { id: w.id }, m.secret);
      const now = (await get(m, w.id))!;
      if (res.data?.cancelWithdrawal) {
        expect(now.status).toBe('CANCELLED');
        expect(now.batch).toBeNull();
        cancelled++;
      } else {
        expect(code(res)).toBe('CONFLICT');
        expect(now.status).toBe('BATCHED');
        await eventually(async () => ready.has(now.batch!.id), 'batch.ready of the winner', 15_000);
        heldUnits += 1_000_000n;
        batched++;
      }
    }
    expect(cancelled + batched).toBe(25);
    // No cancelled withdrawal was sent to the signer.
    const sent = new Set([...ready.values()].filter((b) => b.merchantId === m.id).flatMap((b) => b.items.map((x) => x.withdrawalId)));
    expect(sent.size).toBe(batched);
    const expectedHeld = (heldUnits / 1_000_000n).toString();
    await eventually(async () => (await balance(m, 'dev-evm:USDT')).held === expectedHeld, `held ${expectedHeld}`, 15_000);
    expect(await balance(m, 'dev-evm:USDT')).toEqual({ available: String(100 - Number(expectedHeld)), held: expectedHeld });
    await invariantsOk();
  });
});

describe('cancel against a wait-based cut', () => {
  it('many cancels meeting the batcher at the wait deadline: each withdrawal ends one way, holds match', async () => {
    const m = await stack.newMerchant('race-wait');
    await credit(m, 'dev-evm:USDT', 1_000_000_000n, '1000');
    await aggregation(m, { withdrawalAggregation: 'BATCH', batchMaxSize: 1000, batchMaxWaitSeconds: 1 });
    const outcomes = { cancelled: 0, batched: 0 };
    for (let round = 0; round < 4; round++) {
      const ws = await Promise.all(Array.from({ length: 10 }, () => requestOk(m, { coinId: 'dev-evm:USDT', amount: '1' })));
      // The batcher runs every second; the cut is due one second after the first was queued.
      await new Promise((r) => setTimeout(r, 700 + round * 150));
      const results = await Promise.all(
        ws.map(async (w, i) => {
          await new Promise((r) => setTimeout(r, i * 40));
          return call(CANCEL, { id: w.id }, m.secret);
        }),
      );
      for (const [i, res] of results.entries()) {
        const now = (await get(m, ws[i]!.id))!;
        if (res.data?.cancelWithdrawal) {
          expect(now.status).toBe('CANCELLED');
          outcomes.cancelled++;
        } else {
          expect(code(res)).toBe('CONFLICT');
          expect(now.status).toBe('BATCHED');
          outcomes.batched++;
        }
      }
      // Whatever was not cancelled leaves in a batch.
      await eventually(
        async () => {
          const left = await call('{ withdrawals(first: 200, filter: { status: QUEUED }) { nodes { id } } }', {}, m.secret);
          return left.data.withdrawals.nodes.length === 0;
        },
        'the rest batched',
        15_000,
      );
    }
    const batchedNow = await call('{ withdrawals(first: 200, filter: { status: BATCHED }) { nodes { id batch { id } } } }', {}, m.secret);
    const batchedIds = new Set<string>(batchedNow.data.withdrawals.nodes.map((n: { id: string }) => n.id));
    const cancelledNow = await call('{ withdrawals(first: 200, filter: { status: CANCELLED }) { nodes { id } } }', {}, m.secret);
    expect(batchedIds.size + cancelledNow.data.withdrawals.nodes.length).toBe(40);
    expect(outcomes.cancelled).toBe(cancelledNow.data.withdrawals.nodes.length);
    // The signer is told about exactly the batched ones, once each.
    await eventually(
      async () => [...ready.values()].filter((b) => b.merchantId === m.id).flatMap((b) => b.items).length === batchedIds.size,
      'batch.ready for every batched one',
      15_000,
    );
    const sent = [...ready.values()].filter((b) => b.merchantId === m.id).flatMap((b) => b.items.map((x) => x.withdrawalId));
    expect(new Set(sent)).toEqual(batchedIds);
    expect(sent).toHaveLength(batchedIds.size);
    const held = String(batchedIds.size);
    await eventually(async () => (await balance(m, 'dev-evm:USDT')).held === held, `held ${held}`, 15_000);
    expect(await balance(m, 'dev-evm:USDT')).toEqual({ available: String(1000 - batchedIds.size), held });
    await invariantsOk();
  });
});

describe('the ledger hold RPC', () => {
  it('is idempotent per withdrawal, and a hold after its release is refused', async () => {
    const m = await stack.newMerchant('hold-rpc');
    await credit(m, 'dev-ltc:LTC', 500_000_000n, '5');
    const id = randomUUID();
    const hold = { merchantId: m.id, coinId: 'dev-ltc:LTC', amount: '100000000', withdrawalId: id };
    expect(await bus.request('ledger.hold', hold, 5000)).toEqual({ ok: true });
    expect(await bus.request('ledger.hold', hold, 5000)).toEqual({ ok: true });
    expect(await balance(m, 'dev-ltc:LTC')).toEqual({ available: '4', held: '1' });
    const release = { withdrawalId: id, merchantId: m.id, coinId: 'dev-ltc:LTC', action: 'release' as const, amount: '100000000', fee: null, feeCoinId: null };
    await bus.publish('withdrawal.ledger', release, { id: randomUUID(), key: id });
    await bus.publish('withdrawal.ledger', release, { id: randomUUID(), key: id });
    await eventually(async () => (await balance(m, 'dev-ltc:LTC')).held === '0', 'the release', 15_000);
    // A late repeat of the hold (a retried request) finds the withdrawal ended.
    expect(await bus.request('ledger.hold', hold, 5000)).toEqual({ ok: false, reason: 'RELEASED' });

    // A hold that never arrived: the release leaves a tombstone, and the late hold takes nothing.
    const lost = randomUUID();
    await bus.publish('withdrawal.ledger', { ...release, withdrawalId: lost }, { id: randomUUID(), key: lost });
    await eventually(
      () =>
        withPg(stack.env.databaseUrl, async (c) => {
          const r = await c.query('select 1 from merchant.ledger_transactions where idempotency_key = $1', [`withdrawal:${lost}:hold`]);
          return r.rows.length === 1;
        }),
      'the tombstone',
      15_000,
    );
    expect(await bus.request('ledger.hold', { ...hold, withdrawalId: lost }, 5000)).toEqual({ ok: false, reason: 'RELEASED' });
    expect(await bus.request('ledger.hold', { ...hold, withdrawalId: randomUUID(), amount: '600000000' }, 5000)).toEqual({
      ok: false,
      reason: 'INSUFFICIENT_FUNDS',
    });
    expect(await balance(m, 'dev-ltc:LTC')).toEqual({ available: '5', held: '0' });
    await invariantsOk();
  });
});

describe('queries', () => {
  it('pages withdrawals with cursors, filters, and estimates fees', async () => {
    const m = await stack.newMerchant('pages');
    await credit(m, 'dev-evm:USDT', 10_000_000n, '10');
    const made: string[] = [];
    for (let i = 0; i < 5; i++) made.push((await requestOk(m, { coinId: 'dev-evm:USDT', amount: '1' })).id);
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const res: Res = await gql(
        stack.url,
        'query($after: String) { withdrawals(first: 2, after: $after) { nodes { id } pageInfo { hasNextPage endCursor } } }',
        { after },
        m.secret,
      );
      seen.push(...res.data.withdrawals.nodes.map((n: { id: string }) => n.id));
      if (!res.data.withdrawals.pageInfo.hasNextPage) break;
      after = res.data.withdrawals.pageInfo.endCursor;
    }
    expect(seen).toEqual([...made].reverse());
    const none = await call('{ withdrawals(filter: { coinId: "dev-evm:ETH" }) { nodes { id } } }', {}, m.secret);
    expect(none.data.withdrawals.nodes).toEqual([]);
    expect(code(await call('{ withdrawals(after: "bogus") { nodes { id } } }', {}, m.secret))).toBe('BAD_USER_INPUT');

    const fee = await call('{ estimateWithdrawalFee(coinId: "dev-evm:USDT", amount: "1") { coin { id } fee feeCoin { id } } }', {}, m.secret);
    expect(fee.data.estimateWithdrawalFee.coin).toEqual({ id: 'dev-evm:USDT' });
    expect(fee.data.estimateWithdrawalFee.feeCoin).toEqual({ id: 'dev-evm:ETH' });
    expect(Number(fee.data.estimateWithdrawalFee.fee)).toBeGreaterThan(0);
    const bad = await call('{ estimateWithdrawalFee(coinId: "dev-evm:USDT", amount: "0") { fee } }', {}, m.secret);
    expect(code(bad)).toBe('BAD_USER_INPUT');
  });

  it('refundPayment sends back the overpaid part by default, or the amount asked', async () => {
    const m = refundMerchant;
    const transfer: EventData<'chain.transfer.seen'> = {
      network: 'dev-evm',
      txHash: `0x${randomBytes(32).toString('hex')}`,
      index: 0,
      from: null,
      to: refundPaymentRow.address.address,
      coinId: 'dev-evm:USDT',
      amount: '13000000',
      blockHeight: 100,
      blockHash: `0x${randomBytes(32).toString('hex')}`,
      confirmations: 1,
      addressId: refundPaymentRow.address.id,
      merchantId: m.id,
      internal: false,
    };
    await stack.bus.publish('chain.transfer.seen', transfer, { id: randomUUID(), key: transfer.addressId });
    await stack.bus.publish('chain.transfer.confirmed', transfer, { id: randomUUID(), key: transfer.addressId });
    await eventually(async () => (await balance(m, 'dev-evm:USDT')).available === '13', 'the overpayment credited', 15_000);
    const REFUND = `mutation($input: RefundPaymentInput!) { refundPayment(input: $input) { ${W} } }`;
    const input = { paymentId: refundPaymentRow.id, toAddress: EVM_TO, idempotencyKey: 'refund-1' };
    const overpaid = await call(REFUND, { input }, m.secret);
    expect(overpaid.data.refundPayment).toMatchObject({ amount: '3', coin: { id: 'dev-evm:USDT' }, toAddress: EVM_TO_NORMAL });
    const again = await call(REFUND, { input }, m.secret);
    expect(again.data.refundPayment.id).toBe(overpaid.data.refundPayment.id);
    const asked = await call(REFUND, { input: { ...input, idempotencyKey: 'refund-2', amount: '1.5' } }, m.secret);
    expect(asked.data.refundPayment.amount).toBe('1.5');
    expect(await balance(m, 'dev-evm:USDT')).toEqual({ available: '8.5', held: '4.5' });
    const stranger = await stack.newMerchant('not-the-payee');
    expect(code(await call(REFUND, { input: { ...input, idempotencyKey: 'x' } }, stranger.secret))).toBe('NOT_FOUND');
  });

  it('refundPayment of an unknown payment is NOT_FOUND', async () => {
    const m = await stack.newMerchant('refund');
    const res = await gql(
      stack.url,
      'mutation($input: RefundPaymentInput!) { refundPayment(input: $input) { id } }',
      { input: { paymentId: randomUUID(), toAddress: EVM_TO, idempotencyKey: 'r-1' } },
      m.secret,
    );
    expect(code(res)).toBe('NOT_FOUND');
  });
});
