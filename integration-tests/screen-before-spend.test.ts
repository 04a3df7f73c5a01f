import { randomBytes, randomUUID } from 'node:crypto';
import { eventually, gql } from '@cpg/devkit/testing';
import { type Stack, startStack } from './support/stack';
import { type EthBalance, type Merchant, createEthPayment, ethBalance, ethTransferEvent, ok } from './support/merchant-calls';

/**
 * Screen before spend (issue 15, item 3), on the whole stack: real Postgres and NATS, the real
 * payment, compliance and merchant subgraphs. The test publishes chain events as the tracker
 * would; compliance screens their senders and the ledger keeps each confirmed credit in held
 * until compliance has decided. Withdrawals go through the gateway.
 *
 * The withdrawal subgraph runs with COMPLIANCE_SCREENING=allow (it does not screen destinations
 * here), so that while the compliance subgraph is stopped a withdrawal still reaches the ledger:
 * the refusal this file checks is the ledger's INSUFFICIENT_FUNDS, not an unreachable screening.
 */
jest.setTimeout(120_000);

const ETH = 10n ** 18n;
const REVIEW_SENDER = `0x${randomBytes(20).toString('hex')}`;
const TO = '0x8ba1f109551bd432803012645ac136ddd64dba72';
/** Statuses of a withdrawal the ledger accepted (its amount is reserved in held). */
const ACCEPTED = ['PENDING_APPROVAL', 'QUEUED', 'BATCHED', 'SIGNING', 'BROADCAST'];

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({}, { withdrawalEnv: { COMPLIANCE_SCREENING: 'allow' } });
}, 90_000);

afterAll(async () => {
  await stack?.stop();
});

async function createPayment(m: Merchant, amount = '0.5') {
  return createEthPayment(stack, m, amount);
}

async function balance(m: Merchant): Promise<EthBalance> {
  return ethBalance(stack, m);
}

async function paymentStatus(m: Merchant, id: string): Promise<string> {
  return (await ok(gql(stack.url, 'query($id: ID!) { payment(id: $id) { status } }', { id }, m.secret))).payment.status;
}

/** requestWithdrawal through the gateway: the withdrawal's status, or the error code. */
async function withdraw(m: Merchant, amount: string): Promise<string> {
  const res = await gql(
    stack.url,
    'mutation($i: RequestWithdrawalInput!) { requestWithdrawal(input: $i) { id status } }',
    { i: { coinId: 'dev-evm:ETH', amount, toAddress: TO, idempotencyKey: randomUUID() } },
    m.secret,
  );
  return res.data?.requestWithdrawal?.status ?? res.errors?.[0]?.extensions?.code ?? 'no answer';
}

async function invariantsOk(): Promise<void> {
  const d = await ok(stack.operator('{ ledgerInvariants { ok unbalancedTransactions negativeAccounts mismatchedBalances } }'));
  expect(d.ledgerInvariants).toEqual({ ok: true, unbalancedTransactions: 0, negativeAccounts: 0, mismatchedBalances: 0 });
}

/** A transfer to a payment's address from `from`, published as the tracker would. */
function transfer(m: Merchant, p: { address: string; addressId: string }, from: string, amount: bigint) {
  const t = ethTransferEvent(m, p, from, amount);
  const { txHash } = t;
  const send = (kind: 'seen' | 'confirmed' | 'reorged') =>
    stack.bus.publish(`chain.transfer.${kind}`, { ...t, confirmations: kind === 'reorged' ? 0 : 1 }, { id: `${txHash}:${kind}`, key: p.addressId });
  return { t, send };
}

describe('a deposit is spendable only after compliance has decided on its sender', () => {
  it('a sender under review (grey list): the payment is ON_HOLD, the credit held, never withdrawable; a clean deposit beside it is', async () => {
    const m = await stack.newMerchant('Reviewed sender');
    await ok(
      gql(
        stack.url,
        'mutation($i: GreyListInput!) { addToGreyList(input: $i) { id } }',
        { i: { networkId: 'dev-evm', address: REVIEW_SENDER, action: 'REVIEW', reason: 'chargeback ring' } },
        m.secret,
      ),
    );
    const p = await createPayment(m);
    const grey = transfer(m, p, REVIEW_SENDER, ETH / 2n);
    await grey.send('seen');
    await grey.send('confirmed');
    await eventually(async () => (await paymentStatus(m, p.id)) === 'ON_HOLD', 'the payment ON_HOLD');
    await eventually(async () => (await balance(m)).held === '0.5', 'the credit in held');
    // Decided (REVIEW): held by compliance, not merely waiting for a screening.
    expect(await balance(m)).toEqual({ available: '0', pending: '0', held: '0.5', pendingScreening: '0' });
    expect(await withdraw(m, '0.5')).toBe('INSUFFICIENT_FUNDS');
    expect(await withdraw(m, '0.000000000000000001')).toBe('INSUFFICIENT_FUNDS');

    // A clean deposit beside it becomes available; only it can be withdrawn.
    const p2 = await createPayment(m, '0.2');
    const clean = transfer(m, p2, `0x${randomBytes(20).toString('hex')}`, ETH / 5n);
    await clean.send('seen');
    await clean.send('confirmed');
    await eventually(async () => (await balance(m)).available === '0.2', 'the clean credit available');
    expect(await withdraw(m, '0.3')).toBe('INSUFFICIENT_FUNDS');
    expect(ACCEPTED).toContain(await withdraw(m, '0.2'));
    await eventually(async () => (await balance(m)).available === '0', 'the clean credit reserved');
    // The reviewed 0.5 is still held (and the 0.2 withdrawal's reservation beside it).
    expect(await balance(m)).toEqual({ available: '0', pending: '0', held: '0.7', pendingScreening: '0' });
    expect(await withdraw(m, '0.1')).toBe('INSUFFICIENT_FUNDS');
    expect(await paymentStatus(m, p.id)).toBe('ON_HOLD');
    await invariantsOk();
  });

  it('compliance down: a confirmed deposit stays held (pending screening) and cannot be withdrawn; once compliance is back and clears it, it can', async () => {
    const m = await stack.newMerchant('Compliance down');
    const p = await createPayment(m);
    const reorgedPayment = await createPayment(m, '0.3');
    const sender = `0x${randomBytes(20).toString('hex')}`;
    const kept = transfer(m, p, sender, ETH / 2n);
    const reorged = transfer(m, reorgedPayment, sender, (3n * ETH) / 10n);
    const downFor: string[] = [];

    await stack.restartSubgraph('compliance', {
      whileDown: async () => {
        const t0 = Date.now();
        await kept.send('seen');
        await kept.send('confirmed');
        await reorged.send('seen');
        await reorged.send('confirmed');
        await eventually(async () => (await balance(m)).held === '0.8', 'both credits in held');
        expect(await balance(m)).toEqual({ available: '0', pending: '0', held: '0.8', pendingScreening: '0.8' });
        // The customer paid: the payment is PAID; it is the merchant's funds that wait.
        await eventually(async () => (await paymentStatus(m, p.id)) === 'PAID', 'the payment PAID');
        expect(await withdraw(m, '0.5')).toBe('INSUFFICIENT_FUNDS');
        expect(await withdraw(m, '0.000000000000000001')).toBe('INSUFFICIENT_FUNDS');
        await invariantsOk();

        // A reorg of an unscreened credit takes it back from held, where it sits.
        await reorged.send('reorged');
        await eventually(async () => (await balance(m)).held === '0.5', 'the reorged credit reversed from held');
        expect(await balance(m)).toEqual({ available: '0', pending: '0', held: '0.5', pendingScreening: '0.5' });
        await invariantsOk();

        // Still held however long compliance stays away.
        await new Promise((r) => setTimeout(r, 1500));
        expect(await balance(m)).toEqual({ available: '0', pending: '0', held: '0.5', pendingScreening: '0.5' });
        expect(await withdraw(m, '0.5')).toBe('INSUFFICIENT_FUNDS');
        downFor.push(`${Date.now() - t0} ms`);
      },
    });

    // Compliance's durable consumer catches up on the transfers it missed and clears them.
    await eventually(async () => (await balance(m)).available === '0.5', 'cleared to available', 30_000);
    expect(await balance(m)).toEqual({ available: '0.5', pending: '0', held: '0', pendingScreening: '0' });
    expect(downFor).toHaveLength(1);
    expect(ACCEPTED).toContain(await withdraw(m, '0.5'));
    await eventually(async () => (await balance(m)).held === '0.5', 'the withdrawal reserved');
    expect(await balance(m)).toEqual({ available: '0', pending: '0', held: '0.5', pendingScreening: '0' });
    // The reorged deposit's late CLEAR moved nothing.
    const { me } = await ok(gql(stack.url, '{ me { ledger(first: 50) { nodes { kind amount reference } } } }', {}, m.secret));
    const reorgedRef = `deposit:dev-evm:${reorged.t.txHash}:0`;
    expect(
      (me.ledger.nodes as { kind: string; amount: string; reference: string }[])
        .filter((n) => n.reference === reorgedRef)
        .map((n) => `${n.kind} ${n.amount}`)
        .sort(),
    ).toEqual(['deposit_pending_screening.held 0.3', 'deposit_pending_screening.pending -0.3', 'deposit_reversed.held -0.3', 'deposit_seen.pending 0.3']);
    await invariantsOk();
  });
});
