// The collector on Tron, against the fake full node (shared/devkit/src/chains/tron/fake-node.ts, a test
// double of java-tron's HTTP API, here with its resource model on: accounts must exist, bandwidth
// and energy are paid from free bandwidth and stake or burnt as TRX), with the real signer,
// address subgraph and tracker. A TRC-20 (USDT) deposit on a never-seen USER address is swept to
// HOT: with a TRX top-up that creates the account and pays the energy to burn, or with energy
// delegated from the merchant's staked TRX (no TRX burnt for energy); a plan stopped between the
// top-up and the sweep resumes without a second top-up.
import { type NetworkConfig, getNetwork } from '@cpg/chains';
import { randomBytes } from 'node:crypto';
import * as ecc from 'tiny-secp256k1';
import { createRpcPool } from '@cpg/chains/rpc';
import { tronAddressFromPublicKey, tronBase58ToHex } from '@cpg/chains/tron/address';
import { TronSigner } from '@cpg/chains/tron/signer';
import { FakeTronNode } from '@cpg/devkit/chains/tron/fake-node';
import type { TronBlockJson, TronTxInfoJson } from '@cpg/chains/tron/protocol';
import { createTestEnv, eventually, type TestEnv } from '@cpg/devkit/testing';
import type { RunningCollector } from '../src/worker';
import {
  type World,
  addresses,
  collectorKnows,
  merchant,
  plansOf,
  startCollector,
  startCollectorStoppingAfter,
  startWorld,
  stepsOf,
  stopWorld,
  trackerWatches,
} from './helpers';

jest.setTimeout(120_000);

const USDT_ID = 'tron:USDT';
const TRX = 1_000_000n;
const USDT = 1_000_000n;

let env: TestEnv;
let node: FakeTronNode;
let network: NetworkConfig;
let world: World;
let collector: RunningCollector | undefined;
let miner: NodeJS.Timeout | undefined;

const usdt = () => network.coins.find((c) => c.id === USDT_ID)!;

async function post<T>(path: string, body: unknown): Promise<T> {
  const res = await fetch(`${node.url}${path}`, { method: 'POST', body: JSON.stringify(body) });
  return (await res.json()) as T;
}

const info = (txId: string) => post<TronTxInfoJson>('/wallet/gettransactioninfobyid', { value: txId });

async function tokenBalance(holder: string): Promise<bigint> {
  const r = await post<{ constant_result?: string[] }>('/wallet/triggerconstantcontract', {
    owner_address: tronBase58ToHex(holder),
    contract_address: tronBase58ToHex(usdt().contract!),
    function_selector: 'balanceOf(address)',
    parameter: tronBase58ToHex(holder).slice(2).padStart(64, '0'),
    visible: false,
  });
  return BigInt(`0x${r.constant_result?.[0] || '0'}`);
}

/** Every transaction the fake node mined from `from` (hex owner), with its contract type. */
function minedFrom(from: string): { txID: string; type: string }[] {
  const hex = tronBase58ToHex(from).toLowerCase();
  const out: { txID: string; type: string }[] = [];
  for (let n = 1; n <= node.headHeight; n++) {
    const b: TronBlockJson | undefined = node.block(n);
    for (const tx of b?.transactions ?? []) {
      const c = tx.raw_data.contract[0]!;
      if (String((c.parameter.value as { owner_address?: string }).owner_address ?? '').toLowerCase() === hex) out.push({ txID: tx.txID, type: c.type });
    }
  }
  return out;
}

beforeAll(async () => {
  env = await createTestEnv();
  node = await FakeTronNode.start({ recorded: 'mainnet', resourceModel: true });
  process.env.CHAIN_RPC_TRON = node.url;
  process.env.CHAIN_CONFIRMATIONS_TRON = '1';
  network = getNetwork('tron');
  world = await startWorld(env, network);
  // Blocks every 300 ms, as a chain would produce them.
  miner = setInterval(() => node.mine(), 300);
});

afterEach(async () => {
  await collector?.stop().catch(() => undefined);
  collector = undefined;
});

afterAll(async () => {
  if (miner) clearInterval(miner);
  await stopWorld(world ?? {});
  await node?.close();
  await env?.cleanup();
  delete process.env.CHAIN_RPC_TRON;
  delete process.env.CHAIN_CONFIRMATIONS_TRON;
});

/** A merchant with a HOT wallet holding `trx` (of which `staked` is staked for energy) and one never-seen USER address for USDT. */
async function setUp(trx: bigint, staked: bigint) {
  const m = merchant();
  const svc = addresses(world);
  const hot = await svc.createAddress(m, { networkId: 'tron', type: 'HOT' });
  const user = await svc.createAddress(m, { networkId: 'tron', coinId: USDT_ID });
  node.fund(hot.address, trx);
  if (staked > 0n) node.stake(hot.address, staked);
  return { m, hot, user };
}

describe('the fake node with its resource model', () => {
  const key = () => {
    const privateKey = randomBytes(32);
    return { privateKey, address: tronAddressFromPublicKey(ecc.pointFromScalar(privateKey, false)!) };
  };

  it('refuses anything from an account that does not exist, and delegation to one; stake delegates and comes back', async () => {
    const pool = createRpcPool(network.rpc);
    try {
      const signer = new TronSigner(network, pool);
      const fresh = key();
      const staker = key();
      node.setTokenBalance(usdt().contract!, fresh.address, 10n * USDT);
      const sweep = await signer.sign(fresh, [{ to: staker.address, coinId: USDT_ID, amount: 10n * USDT }]);
      await expect(signer.broadcast(sweep)).rejects.toThrow(/CONTRACT_VALIDATE_ERROR .*does not exist/);
      node.fund(staker.address, 3_000n * TRX);
      node.stake(staker.address, 2_000n * TRX);
      await expect(signer.broadcast(await signer.signResource(staker, { kind: 'delegate', receiver: fresh.address, sun: 1_000n * TRX }))).rejects.toThrow(
        /does not exist/,
      );
      node.fund(fresh.address, 1n);
      await expect(signer.broadcast(await signer.signResource(staker, { kind: 'delegate', receiver: fresh.address, sun: 3_000n * TRX }))).rejects.toThrow(
        /available FreezeEnergyV2 balance/,
      );
      await signer.broadcast(await signer.signResource(staker, { kind: 'delegate', receiver: fresh.address, sun: 1_000n * TRX }));
      await eventually(async () => node.delegated(staker.address, fresh.address) === 1_000n * TRX, 'the delegation mined', 5_000, 50);
      const limits = await post<{ EnergyLimit?: number }>('/wallet/getaccountresource', { address: tronBase58ToHex(fresh.address), visible: false });
      expect(limits.EnergyLimit).toBeGreaterThan(70_000);
      expect(await post('/wallet/getcandelegatedmaxsize', { owner_address: tronBase58ToHex(staker.address), type: 1 })).toEqual({
        max_size: Number(1_000n * TRX),
      });
      await signer.broadcast(await signer.signResource(staker, { kind: 'undelegate', receiver: fresh.address, sun: 1_000n * TRX }));
      await eventually(async () => node.delegated(staker.address, fresh.address) === 0n, 'the undelegation mined', 5_000, 50);
    } finally {
      await pool.close();
    }
  });
});

describe('Tron collection', () => {
  it('sweeps a TRC-20 deposit after a TRX top-up that creates the account and pays the energy (no stake)', async () => {
    collector = await startCollector(world);
    const { m, hot, user } = await setUp(100n * TRX, 0n);
    await collectorKnows(collector, [hot.id, user.id]);
    await trackerWatches(world, user.address);
    expect(node.isActivated(user.address)).toBe(false);
    node.setTokenBalance(usdt().contract!, user.address, 500n * USDT);
    await eventually(async () => (await plansOf(collector!, m.merchantId)).some((p) => p.status === 'DONE'), 'the plan done', 60_000, 200);
    const steps = await stepsOf(collector, m.merchantId);
    expect(steps.map((s) => [s.kind, s.action, s.status])).toEqual([
      ['gas_topup', 'topup', 'CONFIRMED'],
      ['sweep', 'token', 'CONFIRMED'],
    ]);
    expect(await tokenBalance(hot.address)).toBe(500n * USDT);
    expect(await tokenBalance(user.address)).toBe(0n);
    expect(node.isActivated(user.address)).toBe(true);
    // The top-up created the account (the activation fee burnt from HOT) and carried the energy to burn.
    const topUp = await info(steps[0]!.tx_hash!);
    expect(topUp.fee).toBe(1_100_000);
    const sweep = await info(steps[1]!.tx_hash!);
    expect(sweep.receipt?.result).toBe('SUCCESS');
    expect(sweep.receipt?.energy_fee).toBe(130_285 * 100);
    expect(sweep.receipt?.energy_usage).toBeUndefined();
    // What the top-up brought beyond the burn (the margin) stays at the USER address.
    expect(node.trxBalance(user.address)).toBe(BigInt(steps[0]!.amount) - 130_285n * 100n);
    expect(node.trxBalance(hot.address)).toBe(100n * TRX - BigInt(steps[0]!.amount) - 1_100_000n);
    // The tracker reports the top-up and the sweep as internal transfers, never as deposits.
    await eventually(
      async () => steps.every((s) => world.observed.transfers.some((t) => t.kind === 'confirmed' && t.data.txHash === s.tx_hash)),
      'the tracker saw both transactions',
      15_000,
    );
    expect(world.observed.transfers.filter((t) => steps.some((s) => s.tx_hash === t.data.txHash)).every((t) => t.data.internal)).toBe(true);
    // Each step's fee reaches the ledger's feed once, as on chain.
    await eventually(async () => steps.every((s) => world.observed.fees.some((f) => f.stepId === s.id)), 'the fee events', 15_000);
    expect(steps.map((s) => world.observed.fees.filter((f) => f.stepId === s.id).map((f) => [f.fee, f.feeCoinId]))).toEqual([
      [['1100000', 'tron:TRX']],
      [[String(sweep.fee), 'tron:TRX']],
    ]);
  });

  it('sweeps a TRC-20 deposit with energy delegated from the merchant staked TRX: no TRX burnt for energy', async () => {
    collector = await startCollector(world);
    const { m, hot, user } = await setUp(5_000n * TRX, 3_000n * TRX);
    await collectorKnows(collector, [hot.id, user.id]);
    node.setTokenBalance(usdt().contract!, user.address, 80n * USDT);
    await eventually(async () => (await plansOf(collector!, m.merchantId)).some((p) => p.status === 'DONE'), 'the plan done', 60_000, 200);
    const steps = await stepsOf(collector, m.merchantId);
    // The account is created by the smallest TRX transfer, then lent energy, swept, and the stake taken back.
    expect(steps.map((s) => [s.kind, s.action, s.amount, s.status])).toEqual([
      ['gas_topup', 'topup', '1', 'CONFIRMED'],
      ['gas_topup', 'delegate', steps[1]!.amount, 'CONFIRMED'],
      ['sweep', 'token', String(80n * USDT), 'CONFIRMED'],
      ['gas_topup', 'undelegate', steps[1]!.amount, 'CONFIRMED'],
    ]);
    expect(BigInt(steps[1]!.amount)).toBeLessThanOrEqual(3_000n * TRX);
    expect(await tokenBalance(hot.address)).toBe(80n * USDT);
    expect(await tokenBalance(user.address)).toBe(0n);
    const sweep = await info(steps[2]!.tx_hash!);
    expect(sweep.receipt?.result).toBe('SUCCESS');
    expect(sweep.receipt?.energy_usage).toBe(130_285);
    expect(sweep.receipt?.energy_fee).toBeUndefined();
    expect(sweep.fee ?? 0).toBe(0);
    // Nothing burnt at the USER address: it keeps the 1 sun that created it; the stake is back with HOT.
    expect(node.trxBalance(user.address)).toBe(1n);
    expect(node.delegated(hot.address, user.address)).toBe(0n);
    expect(node.trxBalance(hot.address)).toBe(2_000n * TRX - 1n - 1_100_000n);
  });

  it('a collector stopped between the top-up and the sweep resumes without a second top-up', async () => {
    // Stops right after the top-up was sent, before it saw it confirmed.
    const stopping = await startCollectorStoppingAfter(world, (s) => s.kind === 'gas_topup' && s.status === 'BROADCAST');
    const first = stopping.running;
    collector = first;
    const { m, hot, user } = await setUp(100n * TRX, 0n);
    await collectorKnows(first, [hot.id, user.id]);
    node.setTokenBalance(usdt().contract!, user.address, 300n * USDT);
    await eventually(async () => stopping.halted(), 'the collector halted after the top-up', 60_000, 100);
    const before = await stepsOf(first, m.merchantId);
    await first.stop();
    collector = undefined;
    expect(before.map((s) => [s.kind, s.status])).toEqual([
      ['gas_topup', 'BROADCAST'],
      ['sweep', 'PLANNED'],
    ]);
    // The top-up is mined while no collector runs.
    await eventually(async () => node.isActivated(user.address), 'the top-up mined', 10_000, 50);

    collector = await startCollector(world);
    await eventually(async () => (await plansOf(collector!, m.merchantId)).every((p) => p.status === 'DONE'), 'the resumed plan done', 60_000, 200);
    const after = await stepsOf(collector, m.merchantId);
    expect(after.map((s) => [s.kind, s.status, s.tx_hash])).toEqual([
      ['gas_topup', 'CONFIRMED', before[0]!.tx_hash],
      ['sweep', 'CONFIRMED', expect.any(String)],
    ]);
    expect(await plansOf(collector, m.merchantId)).toHaveLength(1);
    // One TRX transfer from HOT ever: the top-up was not made twice.
    expect(minedFrom(hot.address)).toEqual([{ txID: before[0]!.tx_hash, type: 'TransferContract' }]);
    expect(await tokenBalance(hot.address)).toBe(300n * USDT);
    expect(node.trxBalance(hot.address)).toBe(100n * TRX - BigInt(after[0]!.amount) - 1_100_000n);
  });
});
