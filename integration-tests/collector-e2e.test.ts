import { randomUUID } from 'node:crypto';
import { Wallet } from 'ethers';
import { Bus } from '@cpg/core/bus';
import { DEV_EVM_USDT_ADDRESS, type NetworkConfig } from '@cpg/chains';
import type { LitecoinDevControls } from '@cpg/devkit/chains/bitcoin/dev';
import { getBalance } from '@cpg/chains/balance';
import { type EvmDevControls, anvilAccount } from '@cpg/devkit/chains/evm/dev';
import { EvmSigner, waitForReceipt } from '@cpg/chains/evm/signer';
import type { RpcPool } from '@cpg/chains/rpc';
import { eventually, gql } from '@cpg/devkit/testing';
import type { RunningTracker } from '@cpg/worker-tracker/src/worker';
import { type RunningCollector, startCollectorWorker } from '@cpg/worker-collector/src/worker';
import { type DevChains, startChainTracker, startDevChains } from './support/dev-chains';
import { type Stack, startStack } from './support/stack';
import { reconcile, reconciled } from './support/reconcile';

/**
 * The collector in the whole gateway: real payments (USDT and ETH on anvil, LTC on litecoind) to
 * USER addresses, the real tracker, payment, merchant and address subgraphs, signer and collector.
 * After the sweeps settle, the operator's reconciliation says the chain and the ledger agree to the
 * base unit for every coin, the fees of sweeps and top-ups included.
 */
jest.setTimeout(240_000);

let stack: Stack;
let chains: DevChains;
let tracker: RunningTracker;
let collector: RunningCollector;
let evm: NetworkConfig;
let ltc: NetworkConfig;
let evmRpc: RpcPool;
let evmDev: EvmDevControls;
let ltcDev: LitecoinDevControls;
let miner: NodeJS.Timeout | undefined;

const USDT = 10n ** 6n;
const ETH = 10n ** 18n;

beforeAll(async () => {
  // Every process of this file (address subgraph, signer, tracker, collector) reads these chains.
  chains = await startDevChains({ exportEnv: true });
  ({ evm, ltc, evmRpc, evmDev, ltcDev } = chains);
  stack = await startStack(
    {},
    {
      withdrawalEnv: { WITHDRAWAL_FEE_ESTIMATOR: 'static' },
      // A periodic funds retry far beyond the test: a waiting withdrawal goes out only because a sweep's confirmed transfer to HOT woke it.
      signerConfig: { WITHDRAWAL_POLL_MS: 200, WITHDRAWAL_FUNDS_RETRY_MS: 600_000 },
      signerOptions: { networks: [evm, ltc] },
    },
  );
  tracker = await startChainTracker(stack, chains, { pollIntervalMs: 100, idleRecheckMs: 300, statusIntervalMs: 1000 });
  collector = await startCollectorWorker(stack.env.workerConfig(stack.env.natsAuth('collector')), {
    log: stack.env.log,
    networks: [evm, ltc],
    tickMs: 150,
    passMs: 500,
  });
}, 120_000);

afterAll(async () => {
  if (miner) clearInterval(miner);
  await collector?.stop().catch(() => undefined);
  await tracker?.stop().catch(() => undefined);
  await stack?.stop().catch(() => undefined);
  await chains?.stop();
});

type Merchant = Awaited<ReturnType<Stack['newMerchant']>>;

async function as(m: Merchant, query: string, variables: Record<string, unknown> = {}) {
  const res = await gql(stack.url, query, variables, m.secret);
  if (!res.data || res.errors) throw new Error(`${query.slice(0, 60)}: ${JSON.stringify(res.errors)}`);
  return res.data;
}

async function createPayment(m: Merchant, coinId: string, amount: string): Promise<{ id: string; address: string }> {
  const d = await as(m, 'mutation($i: CreatePaymentInput!) { createPayment(input: $i) { id address { address } } }', { i: { coinId, amount } });
  return { id: d.createPayment.id, address: d.createPayment.address.address };
}

async function wallet(m: Merchant, networkId: string, type: 'HOT' | 'TOKENS_COLLECTOR'): Promise<{ id: string; address: string }> {
  const d = await as(m, 'mutation($i: CreateAddressInput!) { createAddress(input: $i) { id address } }', { i: { networkId, type } });
  return d.createAddress;
}

/** A cold wallet the operator approved at once (otherwise it cools off for 24 h before anything is forwarded to it). */
async function cold(m: Merchant, networkId: string, address: string): Promise<{ id: string; address: string }> {
  const d = await as(m, 'mutation($i: RegisterColdWalletInput!) { registerColdWallet(input: $i) { id address } }', { i: { networkId, address } });
  const approved = await stack.operator('mutation($id: ID!) { approveColdWallet(id: $id) { coldWalletStatus } }', { id: d.registerColdWallet.id });
  expect(approved.data?.approveColdWallet.coldWalletStatus).toBe('ACTIVE');
  return d.registerColdWallet;
}

async function policy(m: Merchant, input: Record<string, unknown>): Promise<void> {
  await as(m, 'mutation($i: SetCollectionPolicyInput!) { setCollectionPolicy(input: $i) { coin { id } } }', { i: input });
}

async function paymentStatus(m: Merchant, id: string): Promise<string> {
  const d = await as(m, 'query($id: ID!) { payment(id: $id) { status } }', { id });
  return d.payment.status;
}

interface SweepNode {
  kind: string;
  status: string;
  coin: { id: string };
  toAddress: string;
  amount: string;
  fee: string | null;
}

async function sweeps(m: Merchant): Promise<SweepNode[]> {
  const d = await as(m, '{ sweeps(first: 100) { nodes { kind status coin { id } toAddress amount fee } } }');
  return d.sweeps.nodes;
}

async function balances(m: Merchant): Promise<Map<string, { available: string; pending: string; held: string; custody: string }>> {
  const d = await as(m, '{ me { balances { coin { id } available pending held custody } } }');
  return new Map(d.me.balances.map((b: { coin: { id: string }; available: string; pending: string; held: string; custody: string }) => [b.coin.id, b]));
}

const usdtOf = async (a: string) =>
  BigInt(await evmRpc.call<string>('eth_call', [{ to: DEV_EVM_USDT_ADDRESS, data: `0x70a08231${a.slice(2).toLowerCase().padStart(64, '0')}` }, 'latest']));
const ethOf = async (a: string) => BigInt(await evmRpc.call<string>('eth_getBalance', [a, 'latest']));

async function invariantsOk(): Promise<void> {
  const inv = await stack.operator('{ ledgerInvariants { ok unbalancedTransactions negativeAccounts mismatchedBalances } }');
  expect(inv.errors).toBeUndefined();
  expect(inv.data.ledgerInvariants).toEqual({ ok: true, unbalancedTransactions: 0, negativeAccounts: 0, mismatchedBalances: 0 });
}

describe('collection end to end, reconciled with the ledger', () => {
  it('ETH payments and ten USDT payments are swept (gas top-ups, HOT to its target, the rest to COLD), fees charged, and the books match the chain', async () => {
    const m = await stack.newMerchant('Sweeps shop');
    const hot = await wallet(m, 'dev-evm', 'HOT');
    const coldEvm = await cold(m, 'dev-evm', Wallet.createRandom().address);
    await policy(m, { coinId: 'dev-evm:ETH', collectThreshold: '0.01', hotTarget: '0.5', coldWalletId: coldEvm.id, maxFeeRatio: '0.05' });
    // Ten small deposits: the ratio leaves room for a top-up and a sweep each at anvil's gas price.
    await policy(m, { coinId: 'dev-evm:USDT', collectThreshold: '5', hotTarget: '50', coldWalletId: coldEvm.id, maxFeeRatio: '0.2' });

    // ETH first: what it sweeps to HOT pays the USDT sweeps' gas top-ups.
    const ethPaid = [4n * 10n ** 17n, 3n * 10n ** 17n, 2n * 10n ** 17n];
    const ethPayments = [];
    for (const amount of ethPaid) {
      const p = await createPayment(m, 'dev-evm:ETH', (Number(amount) / 1e18).toString());
      await evmDev.fund(p.address, 'dev-evm:ETH', amount);
      ethPayments.push(p);
    }
    for (const p of ethPayments) await eventually(async () => (await paymentStatus(m, p.id)) === 'PAID', 'ETH payment PAID', 30_000, 200);
    await eventually(
      async () => (await sweeps(m)).filter((s) => s.coin.id === 'dev-evm:ETH').some((s) => s.status === 'CONFIRMED') && (await ethOf(hot.address)) > 0n,
      'ETH swept to HOT',
      60_000,
      300,
    );
    const ethLines = await reconciled(stack, m.id, ['dev-evm:ETH']);
    expect(ethLines.get('dev-evm:ETH')!.difference).toBe('0');

    // Ten customers, each paying one payment from an account of their own (one sender paying ten
    // times within the hour would be held for review by compliance's velocity rule).
    const usdtPaid = Array.from({ length: 10 }, () => 9n * USDT);
    const customers = Array.from({ length: 10 }, (_, i) => anvilAccount(100 + i));
    for (const c of customers) {
      await evmDev.fund(c.address, 'dev-evm:ETH', ETH / 100n);
      await evmDev.fund(c.address, 'dev-evm:USDT', 9n * USDT);
    }
    const payer = new EvmSigner(evm, evmRpc);
    const usdtPayments = [];
    for (const [i, amount] of usdtPaid.entries()) {
      const p = await createPayment(m, 'dev-evm:USDT', (amount / USDT).toString());
      const tx = await payer.sign(customers[i]!, [{ to: p.address, coinId: 'dev-evm:USDT', amount }]);
      await payer.broadcast(tx);
      await waitForReceipt(evmRpc, tx.txHash, { timeoutMs: 10_000, intervalMs: 20 });
      usdtPayments.push(p);
    }
    for (const p of usdtPayments) await eventually(async () => (await paymentStatus(m, p.id)) === 'PAID', 'USDT payment PAID', 30_000, 200);
    await eventually(async () => (await usdtOf(hot.address)) + (await usdtOf(coldEvm.address)) === 90n * USDT, 'every USDT swept to HOT and COLD', 90_000, 300);
    const lines = await reconciled(stack, m.id, ['dev-evm:ETH', 'dev-evm:USDT'], 90_000);

    // HOT got its target, the rest went to COLD.
    expect(await usdtOf(hot.address)).toBe(50n * USDT);
    expect(await usdtOf(coldEvm.address)).toBe(40n * USDT);
    const all = await sweeps(m);
    // Each of the ten USER addresses needed gas: one top-up each, and no deposit was reported for any of them.
    expect(all.filter((s) => s.kind === 'gas_topup' && s.coin.id === 'dev-evm:ETH').length).toBe(10);
    expect(all.every((s) => s.status === 'CONFIRMED')).toBe(true);

    // Fees: every confirmed step's fee was charged to the merchant's ETH, nothing else moved.
    const feeWei = all.reduce((a, s) => a + (s.fee ? BigInt(Math.round(Number(s.fee) * 1e9)) * 10n ** 9n : 0n), 0n);
    expect(feeWei).toBeGreaterThan(0n);
    // The hot side holds 50 and the books say so; the 40 forwarded to COLD sit in custody.
    const usdt = lines.get('dev-evm:USDT')!;
    expect([usdt.onChain, usdt.ledger, usdt.difference]).toEqual(['50', '50', '0']);
    await eventually(async () => (await balances(m)).get('dev-evm:USDT')?.custody === '40', 'USDT custody 40', 30_000, 200);
    expect((await balances(m)).get('dev-evm:USDT')).toMatchObject({ available: '50', custody: '40' });
    const eth = lines.get('dev-evm:ETH')!;
    expect(eth.difference).toBe('0');
    expect(eth.onChain).toBe(eth.ledger);
    // The ledger's ETH (available and custody) is the payments less the fees, to the wei.
    const bal = await balances(m);
    const ethLedger = BigInt(Math.round((Number(bal.get('dev-evm:ETH')!.available) + Number(bal.get('dev-evm:ETH')!.custody)) * 1e9)) * 10n ** 9n;
    const paid = ethPaid.reduce((a, b) => a + b, 0n);
    expect(paid - ethLedger).toBeGreaterThan(0n);
    expect(paid - ethLedger).toBeLessThan(ETH / 100n);
    await invariantsOk();

    // Reconciliation is the operator's: a merchant is refused, a malformed id is bad input.
    const asMerchant = await gql(stack.url, 'query($m: ID!) { reconciliation(merchantId: $m) { difference } }', { m: m.id }, m.secret);
    expect(asMerchant.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const bad = await stack.operator('query { reconciliation(merchantId: "nope") { difference } }');
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('a withdrawal queued on an empty HOT wallet is sent once a sweep refills it, and the books still match the chain', async () => {
    const m = await stack.newMerchant('Refill shop');
    const hot = await wallet(m, 'dev-evm', 'HOT');
    // Nothing is swept yet: the threshold is above what will arrive.
    await policy(m, { coinId: 'dev-evm:ETH', collectThreshold: '100', hotTarget: '100', maxFeeRatio: '0.05' });
    const p = await createPayment(m, 'dev-evm:ETH', '0.5');
    await evmDev.fund(p.address, 'dev-evm:ETH', ETH / 2n);
    await eventually(async () => (await paymentStatus(m, p.id)) === 'PAID', 'ETH payment PAID', 30_000, 200);
    await eventually(async () => (await balances(m)).get('dev-evm:ETH')?.available === '0.5', 'the payment credited', 30_000, 200);

    const to = Wallet.createRandom().address;
    const W = 'id status waitingReason txHash';
    const requested = await as(m, `mutation($i: RequestWithdrawalInput!) { requestWithdrawal(input: $i) { ${W} } }`, {
      i: { coinId: 'dev-evm:ETH', toAddress: to, amount: '0.1', idempotencyKey: randomUUID() },
    });
    const id: string = requested.requestWithdrawal.id;
    const get = async () => (await as(m, `query($id: ID!) { withdrawal(id: $id) { ${W} } }`, { id })).withdrawal;
    await eventually(async () => (await get()).waitingReason, 'the withdrawal waiting for funds', 30_000, 200);
    // Withdrawal.waitingReason says what is missing (the payout and its gas, in ETH) and which wallet to fund.
    expect((await get()).waitingReason).toMatch(new RegExp(`short by 0\\.1\\d* ETH to pay and for gas: send that to the HOT wallet ${hot.address}$`, 'i'));
    expect(await ethOf(hot.address)).toBe(0n);
    expect(['QUEUED', 'BATCHED', 'SIGNING']).toContain((await get()).status);

    // The policy lets the collector sweep: HOT is refilled and the waiting withdrawal goes out.
    await policy(m, { coinId: 'dev-evm:ETH', collectThreshold: '0.01', hotTarget: '100', maxFeeRatio: '0.05' });
    const done = await eventually(
      async () => {
        const w = await get();
        return w.status === 'CONFIRMED' ? w : undefined;
      },
      'the withdrawal CONFIRMED after the sweep',
      60_000,
      200,
    );
    expect(done.txHash).toBeTruthy();
    expect(await ethOf(to)).toBe(ETH / 10n);
    const swept = (await sweeps(m)).filter((s) => s.coin.id === 'dev-evm:ETH');
    expect(swept.map((s) => [s.kind, s.toAddress, s.status])).toEqual([['sweep', hot.address, 'CONFIRMED']]);

    const lines = await reconciled(stack, m.id, ['dev-evm:ETH']);
    const eth = lines.get('dev-evm:ETH')!;
    expect(eth.onChain).toBe(eth.ledger);
    // 0.5 paid, 0.1 withdrawn, and the sweep's and the withdrawal's fees charged: nothing more.
    expect(Number(eth.ledger)).toBeLessThan(0.4);
    expect(Number(eth.ledger)).toBeGreaterThan(0.39);
    await invariantsOk();
  });

  it('a small USDT deposit under a strict maxFeeRatio waits and awaitingCollection says why with the fee figures; relaxed, it is swept', async () => {
    const m = await stack.newMerchant('Strict shop');
    const hot = await wallet(m, 'dev-evm', 'HOT');
    // HOT pays the gas top-up of the USER address once the sweep is allowed.
    await evmDev.fund(hot.address, 'dev-evm:ETH', ETH / 10n);
    // 1 ppm: no gas price anvil can reach makes a 12.5 USDT sweep that cheap.
    await policy(m, { coinId: 'dev-evm:USDT', collectThreshold: '1', hotTarget: '100', maxFeeRatio: '0.000001' });
    const p = await createPayment(m, 'dev-evm:USDT', '12.5');
    const customer = anvilAccount(150);
    await evmDev.fund(customer.address, 'dev-evm:ETH', ETH / 100n);
    await evmDev.fund(customer.address, 'dev-evm:USDT', 12_500_000n);
    const payer = new EvmSigner(evm, evmRpc);
    const tx = await payer.sign(customer, [{ to: p.address, coinId: 'dev-evm:USDT', amount: 12_500_000n }]);
    await payer.broadcast(tx);
    await eventually(async () => (await paymentStatus(m, p.id)) === 'PAID', 'USDT payment PAID', 30_000, 200);

    const Q = '{ awaitingCollection(networkId: "dev-evm") { address { id address } coin { id } amount reason code estimatedFee feeCoin { id } updatedAt } }';
    type Awaiting = {
      address: { address: string };
      coin: { id: string };
      amount: string;
      reason: string;
      code: string;
      estimatedFee: string | null;
      feeCoin: { id: string } | null;
    };
    const waiting = await eventually(
      async () => ((await as(m, Q)).awaitingCollection as Awaiting[]).find((a) => a.coin.id === 'dev-evm:USDT' && a.code === 'fee_ratio'),
      'awaitingCollection lists the USDT with the fee ratio reason',
      30_000,
      200,
    );
    expect(waiting).toMatchObject({ address: { address: p.address }, amount: '12.5', feeCoin: { id: 'dev-evm:ETH' } });
    // The fee (a top-up and the token transfer, in ETH and valued in USDT), its share of 12.5 USDT and the cap.
    expect(waiting.reason).toMatch(
      /^sweeping 12\.5 USDT would cost about [0-9.]+ ETH in fees \(about [0-9.]+ USDT\), [0-9.]+% of the 12\.5 USDT moved, above the policy's maxFeeRatio 0\.000001 \(0\.0001%\)/,
    );
    expect(Number(waiting.estimatedFee)).toBeGreaterThan(0);
    expect(waiting.reason).toContain(`about ${waiting.estimatedFee} ETH`);
    // No sweep row and nothing moved.
    expect((await sweeps(m)).filter((s) => s.coin.id === 'dev-evm:USDT')).toEqual([]);
    expect(await usdtOf(p.address)).toBe(12_500_000n);
    // The collector logged it once, and keeps the list it published (it is republished only when it changes).
    const [kept] = await collector.orm.em
      .fork()
      .execute<{ entries: { code: string }[] }[]>(`select entries from collector.awaiting where merchant_id = ? and coin_id = 'dev-evm:USDT'`, [m.id]);
    expect(kept!.entries.map((e) => e.code)).toEqual(['fee_ratio']);

    // Relaxed: swept to HOT (top-up, then the token transfer), and nothing is listed any more.
    await policy(m, { coinId: 'dev-evm:USDT', collectThreshold: '1', hotTarget: '100', maxFeeRatio: '0.5' });
    await eventually(async () => (await usdtOf(hot.address)) === 12_500_000n, 'the 12.5 USDT swept to HOT', 60_000, 300);
    await eventually(
      async () => ((await as(m, Q)).awaitingCollection as Awaiting[]).filter((a) => a.coin.id === 'dev-evm:USDT').length === 0,
      'nothing awaiting collection',
      30_000,
      300,
    );
    const usdtSweeps = (await sweeps(m)).filter((s) => s.coin.id === 'dev-evm:USDT');
    expect(usdtSweeps.map((s) => [s.kind, s.toAddress, s.amount])).toEqual([['sweep', hot.address, '12.5']]);
  });

  it('twenty LTC payments are consolidated into one transaction and the books match the chain', async () => {
    const m = await stack.newMerchant('LTC shop');
    const hot = await wallet(m, 'dev-ltc', 'HOT');
    const payments = [];
    for (let i = 0; i < 20; i++) {
      const p = await createPayment(m, 'dev-ltc:LTC', '0.05');
      payments.push(p);
    }
    for (const p of payments) await ltcDev.fund(p.address, 'dev-ltc:LTC', 5_000_000n);
    await ltcDev.mine(1);
    // Blocks keep coming so deposits and the consolidation confirm.
    miner = setInterval(() => void ltcDev.mine(1).catch(() => undefined), 700);
    try {
      for (const p of payments) await eventually(async () => (await paymentStatus(m, p.id)) === 'PAID', 'LTC payment PAID', 60_000, 200);
      await eventually(
        async () => (await sweeps(m)).some((s) => s.coin.id === 'dev-ltc:LTC' && s.status === 'CONFIRMED'),
        'the consolidation confirmed',
        90_000,
        300,
      );
    } finally {
      clearInterval(miner);
      miner = undefined;
    }
    const all = (await sweeps(m)).filter((s) => s.coin.id === 'dev-ltc:LTC');
    expect(all.map((s) => [s.kind, s.toAddress, s.status])).toEqual([['sweep', hot.address, 'CONFIRMED']]);
    const lines = await reconciled(stack, m.id, ['dev-ltc:LTC']);
    const line = lines.get('dev-ltc:LTC')!;
    expect(line.difference).toBe('0');
    expect(line.onChain).toBe(line.ledger);
    const onHot = await getBalance(ltc, chains.ltcNode.transport, hot.address, ltc.nativeCoin);
    // One sweep's fee, charged once: the books say 1 LTC less the fee, as the chain does.
    expect(line.onChain).toBe((Number(onHot) / 1e8).toString());
    expect(Number(all[0]!.fee)).toBeGreaterThan(0);
    expect(Number(line.ledger)).toBeCloseTo(1 - Number(all[0]!.fee), 8);

    // The same fee again under another message id (a replay, a second publisher): charged once.
    const [step] = await collector.orm.em
      .fork()
      .execute<{ id: string; plan_id: string; tx_hash: string; fee: string }[]>(
        `select s.id, s.plan_id, s.tx_hash, s.fee::text from collector.steps s join collector.plans p on p.id = s.plan_id where p.merchant_id = ?`,
        [m.id],
      );
    expect(step!.fee).toBe(String(Math.round(Number(all[0]!.fee) * 1e8)));
    const bus = await Bus.connect({ url: stack.env.natsUrl, namespace: stack.env.namespace, name: 'collector-e2e', log: stack.env.log });
    const replayId = randomUUID();
    try {
      await bus.publish(
        'collection.fee',
        {
          stepId: step!.id,
          planId: step!.plan_id,
          merchantId: m.id,
          network: 'dev-ltc',
          kind: 'sweep',
          feeCoinId: 'dev-ltc:LTC',
          fee: step!.fee,
          txHash: step!.tx_hash,
          status: 'CONFIRMED',
        },
        { id: replayId, key: step!.id },
      );
    } finally {
      await bus.close();
    }
    await eventually(
      async () =>
        (await stack.subgraphs.merchant.orm.em.fork().execute(`select 1 from merchant.processed_messages where message_id = ?`, [replayId])).length > 0,
      'the replayed fee consumed',
      15_000,
    );
    const again = (await reconcile(stack, m.id)).find((l) => l.coin.id === 'dev-ltc:LTC')!;
    expect([again.ledger, again.difference]).toEqual([line.ledger, '0']);
    await invariantsOk();
  });
});
