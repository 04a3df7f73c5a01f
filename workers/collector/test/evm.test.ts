// The collector on a real anvil with the real signer, address subgraph and tracker: USDT deposits
// on several USER addresses are swept (gas top-ups, token sweeps, HOT filled to its target, the
// rest to COLD), every internal transfer is tagged internal, and a collector stopped between the
// top-up and the sweep resumes without a second top-up.
import { randomUUID } from 'node:crypto';
import { Wallet } from 'ethers';
import { DEV_EVM_USDT_ADDRESS, type NetworkConfig, getNetwork } from '@cpg/chains';
import { type AnvilHandle, EvmDevControls, deployDevUsdt, startAnvil } from '@cpg/devkit/chains/evm/dev';
import { createRpcPool, type RpcPool } from '@cpg/chains/rpc';
import { createTestEnv, eventually, type TestEnv } from '@cpg/devkit/testing';
import type { RunningCollector } from '../src/worker';
import {
  type World,
  addresses,
  collection,
  collectorKnows,
  merchant,
  plansOf,
  startCollector,
  startCollectorStoppingAfter,
  startWorld,
  stepsOf,
  stopWorld,
  trackerWatches,
  approvedColdWallet,
} from './helpers';

jest.setTimeout(180_000);

const USDT_ID = 'dev-evm:USDT';
const ETH_ID = 'dev-evm:ETH';
const USDT = 10n ** 6n;
const ETH = 10n ** 18n;

let env: TestEnv;
let anvil: AnvilHandle;
let network: NetworkConfig;
let rpc: RpcPool;
let dev: EvmDevControls;
let world: World;
let collector: RunningCollector | undefined;

const ethBalance = async (a: string) => BigInt(await rpc.call<string>('eth_getBalance', [a, 'latest']));
const usdtBalance = async (a: string) =>
  BigInt(await rpc.call<string>('eth_call', [{ to: DEV_EVM_USDT_ADDRESS, data: `0x70a08231${a.slice(2).toLowerCase().padStart(64, '0')}` }, 'latest']));
const nonceOf = async (a: string) => Number(await rpc.call<string>('eth_getTransactionCount', [a, 'latest']));

beforeAll(async () => {
  env = await createTestEnv();
  anvil = await startAnvil({ port: 0 });
  await deployDevUsdt(anvil.rpcUrl);
  process.env.DEV_EVM_RPC_URL = anvil.rpcUrl;
  network = getNetwork('dev-evm');
  rpc = createRpcPool(network.rpc);
  dev = new EvmDevControls(network, rpc);
  world = await startWorld(env, network);
});

afterEach(async () => {
  // One collector at a time: a failed test must not leave its collector running into the next.
  await collector?.stop().catch(() => undefined);
  collector = undefined;
});

afterAll(async () => {
  await stopWorld(world ?? {});
  await rpc?.close();
  await anvil?.stop();
  await env?.cleanup();
});

/** A merchant with HOT, TOKENS_COLLECTOR (funded with ETH for gas), a COLD wallet, `n` USER addresses for USDT and a policy. */
async function setUp(n: number, policy: { collectThreshold: string; hotTarget: string; maxFeeRatio: string }) {
  const m = merchant();
  const svc = addresses(world);
  const hot = await svc.createAddress(m, { networkId: 'dev-evm', type: 'HOT' });
  const tc = await svc.createAddress(m, { networkId: 'dev-evm', type: 'TOKENS_COLLECTOR' });
  const cold = await approvedColdWallet(world, m, 'dev-evm', Wallet.createRandom().address);
  const users = [];
  for (let i = 0; i < n; i++) users.push(await svc.createAddress(m, { networkId: 'dev-evm', coinId: USDT_ID }));
  await collection(world).setPolicy(m, { coinId: USDT_ID, coldWalletId: cold.id, ...policy });
  await dev.fund(tc.address, ETH_ID, ETH);
  for (const u of users) await trackerWatches(world, u.address);
  await trackerWatches(world, hot.address);
  return { m, hot, tc, cold, users };
}

describe('EVM token collection', () => {
  it('sweeps USDT from five addresses: top-ups, HOT filled to its target, the rest to COLD, all internal', async () => {
    const { m, hot, tc, cold, users } = await setUp(5, { collectThreshold: '5', hotTarget: '100', maxFeeRatio: '0.05' });
    const deposits = [];
    for (const u of users) deposits.push(await dev.fund(u.address, USDT_ID, 30n * USDT));
    // Started once every deposit is in, so one plan covers them all.
    collector = await startCollector(world);
    await collectorKnows(collector, [hot.id, tc.id, ...users.map((u) => u.id)], { merchantId: m.merchantId, coinId: USDT_ID });

    await eventually(async () => (await plansOf(collector!, m.merchantId)).some((p) => p.status === 'DONE'), 'the sweep plan done', 90_000, 200);
    expect((await plansOf(collector, m.merchantId)).map((p) => p.status)).toEqual(['DONE']);
    const steps = await stepsOf(collector, m.merchantId);
    const topUps = steps.filter((s) => s.kind === 'gas_topup');
    const tokenSteps = steps.filter((s) => s.action === 'token');
    expect(topUps).toHaveLength(5);
    expect(tokenSteps.filter((s) => s.to_address === hot.address).reduce((a, s) => a + BigInt(s.amount), 0n)).toBe(100n * USDT);
    expect(tokenSteps.filter((s) => s.to_address === cold.address).reduce((a, s) => a + BigInt(s.amount), 0n)).toBe(50n * USDT);
    expect(steps.every((s) => s.status === 'CONFIRMED' || s.status === 'SKIPPED')).toBe(true);

    // On chain: exactly what the plan said.
    expect(await usdtBalance(hot.address)).toBe(100n * USDT);
    expect(await usdtBalance(cold.address)).toBe(50n * USDT);
    for (const u of users) expect(await usdtBalance(u.address)).toBe(0n);
    expect(await nonceOf(tc.address)).toBe(5);
    for (const u of users) expect(await ethBalance(u.address)).toBeGreaterThanOrEqual(0n);

    // The tracker reports the deposits as deposits and every one of our own transfers as internal.
    const ours = new Set([hot.address, tc.address, ...users.map((u) => u.address)].map((a) => a.toLowerCase()));
    await eventually(
      async () =>
        world.observed.transfers.filter((t) => t.kind === 'confirmed' && t.data.merchantId === m.merchantId && t.data.internal).length >=
        tokenSteps.length + topUps.length - 0,
      'internal transfers confirmed',
      30_000,
    );
    const mine = world.observed.transfers.filter((t) => t.data.merchantId === m.merchantId && users.some((u) => u.address === t.data.to));
    for (const t of mine) {
      const fromUs = t.data.from !== null && ours.has(t.data.from.toLowerCase());
      expect([t.data.txHash, t.data.internal]).toEqual([t.data.txHash, fromUs]);
    }
    const external = mine.filter((t) => !t.data.internal && t.kind === 'confirmed').map((t) => t.data.txHash.toLowerCase());
    expect(new Set(external)).toEqual(new Set(deposits.map((d) => d.toLowerCase())));

    // The sweep records reach the bus: every step confirmed with its hash.
    await eventually(
      async () =>
        steps
          .filter((s) => s.status === 'CONFIRMED')
          .every((s) => world.observed.sweeps.some((e) => e.sweepId === s.id && e.status === 'CONFIRMED' && e.txHash === s.tx_hash)),
      'sweep events',
      15_000,
    );
    expect(new Set(world.observed.sweeps.filter((e) => e.merchantId === m.merchantId).map((e) => e.kind))).toEqual(
      new Set(['gas_topup', 'sweep', 'cold_forward']),
    );

    // One collection.fee per confirmed step, in ETH, exactly what its receipt paid (gasUsed x effectiveGasPrice).
    const confirmed = steps.filter((s) => s.status === 'CONFIRMED');
    await eventually(async () => confirmed.every((s) => world.observed.fees.some((f) => f.stepId === s.id)), 'fee events', 15_000);
    for (const s of confirmed) {
      const fees = world.observed.fees.filter((f) => f.stepId === s.id);
      expect(fees).toHaveLength(1);
      const r = await rpc.call<{ gasUsed: string; effectiveGasPrice: string }>('eth_getTransactionReceipt', [s.tx_hash]);
      expect(fees[0]).toMatchObject({ merchantId: m.merchantId, feeCoinId: ETH_ID, txHash: s.tx_hash, status: 'CONFIRMED', kind: s.kind });
      expect(BigInt(fees[0]!.fee)).toBe(BigInt(r.gasUsed) * BigInt(r.effectiveGasPrice));
      // The sweep record carries the same, paid fee.
      expect(world.observed.sweeps.find((e) => e.sweepId === s.id && e.status === 'CONFIRMED')!.fee).toBe(fees[0]!.fee);
    }
  });

  it('a collector stopped between the top-up and the sweep resumes without a second top-up', async () => {
    // Stops right after the top-up was sent, before it saw it confirmed. No periodic pass after
    // the first: the deposit itself (chain.transfer.confirmed) triggers the plan.
    const stopping = await startCollectorStoppingAfter(world, (s) => s.kind === 'gas_topup' && s.status === 'BROADCAST', { passMs: 600_000 });
    const first = stopping.running;
    collector = first;
    const { m, hot, tc, users } = await setUp(1, { collectThreshold: '5', hotTarget: '1000', maxFeeRatio: '0.05' });
    await collectorKnows(first, [hot.id, tc.id, users[0]!.id], { merchantId: m.merchantId, coinId: USDT_ID });
    await dev.fund(users[0]!.address, USDT_ID, 40n * USDT);
    await eventually(async () => stopping.halted(), 'the collector halted after the top-up', 60_000, 100).catch(async (err) => {
      const rows = await first.orm.em.fork().execute('select * from collector.steps');
      const plans = await first.orm.em.fork().execute('select * from collector.plans');
      const addrs = await first.orm.em.fork().execute('select * from collector.addresses where merchant_id = ?', [m.merchantId]);
      throw new Error(`${(err as Error).message}: ${JSON.stringify({ rows: rows.slice(-3), plans, addrs })}`);
    });
    const before = await stepsOf(first, m.merchantId);
    await first.stop();
    collector = undefined;
    expect(before.map((s) => [s.kind, s.status])).toEqual([
      ['gas_topup', 'BROADCAST'],
      ['sweep', 'PLANNED'],
    ]);
    const topUpHash = before[0]!.tx_hash;
    expect(await nonceOf(tc.address)).toBe(1);

    collector = await startCollector(world);
    await eventually(async () => (await plansOf(collector!, m.merchantId)).every((p) => p.status === 'DONE'), 'the resumed plan done', 60_000, 200);
    const after = await stepsOf(collector, m.merchantId);
    expect(after.map((s) => [s.kind, s.status])).toEqual([
      ['gas_topup', 'CONFIRMED'],
      ['sweep', 'CONFIRMED'],
    ]);
    expect(after[0]!.tx_hash).toBe(topUpHash);
    expect(await nonceOf(tc.address)).toBe(1);
    expect(await usdtBalance(hot.address)).toBe(40n * USDT);
    expect(await usdtBalance(users[0]!.address)).toBe(0n);
    expect(await plansOf(collector, m.merchantId)).toHaveLength(1);
  });

  it('a collector stopped between signing and broadcasting a sweep sends that same transaction on restart', async () => {
    const stopping = await startCollectorStoppingAfter(world, (s) => s.action === 'token' && s.status === 'SIGNED');
    const first = stopping.running;
    collector = first;
    const { m, hot, tc, users } = await setUp(1, { collectThreshold: '5', hotTarget: '1000', maxFeeRatio: '0.05' });
    await collectorKnows(first, [hot.id, tc.id, users[0]!.id], { merchantId: m.merchantId, coinId: USDT_ID });
    await dev.fund(users[0]!.address, USDT_ID, 25n * USDT);
    await eventually(async () => stopping.halted(), 'the collector halted after signing the sweep', 60_000, 100);
    const before = await stepsOf(first, m.merchantId);
    await first.stop();
    collector = undefined;
    expect(before.map((s) => [s.kind, s.status])).toEqual([
      ['gas_topup', 'CONFIRMED'],
      ['sweep', 'SIGNED'],
    ]);
    const sweepHash = before[1]!.tx_hash!;
    expect(await rpc.call('eth_getTransactionByHash', [sweepHash])).toBeNull();

    collector = await startCollector(world);
    await eventually(async () => (await plansOf(collector!, m.merchantId)).every((p) => p.status === 'DONE'), 'the resumed plan done', 60_000, 200);
    const after = await stepsOf(collector, m.merchantId);
    expect(after.map((s) => [s.kind, s.status, s.tx_hash])).toEqual([
      ['gas_topup', 'CONFIRMED', before[0]!.tx_hash],
      ['sweep', 'CONFIRMED', sweepHash],
    ]);
    expect(await nonceOf(users[0]!.address)).toBe(1);
    expect(await usdtBalance(hot.address)).toBe(25n * USDT);
  });

  it('a deposit compliance holds is not swept into HOT: its address goes to COLD', async () => {
    const { m, hot, tc, cold, users } = await setUp(2, { collectThreshold: '5', hotTarget: '1000', maxFeeRatio: '0.05' });
    collector = await startCollector(world);
    await collectorKnows(collector, [hot.id, tc.id, ...users.map((u) => u.id)], { merchantId: m.merchantId, coinId: USDT_ID });
    // Compliance holds the deposit (screened when seen, before it confirms).
    await world.client.publish(
      'compliance.deposit_hold',
      {
        alertId: randomUUID(),
        merchantId: m.merchantId,
        action: 'HOLD',
        network: 'dev-evm',
        txHash: `0x${'ab'.repeat(32)}`,
        index: 0,
        addressId: users[0]!.id,
        coinId: USDT_ID,
        amount: (20n * USDT).toString(),
      },
      { id: randomUUID(), key: m.merchantId },
    );
    await eventually(
      async () => (await collector!.orm.em.fork().execute('select 1 from collector.holds where address_id = ?', [users[0]!.id])).length > 0,
      'the hold recorded',
    );
    await dev.fund(users[0]!.address, USDT_ID, 20n * USDT);
    await dev.fund(users[1]!.address, USDT_ID, 30n * USDT);
    await eventually(
      async () => (await usdtBalance(hot.address)) === 30n * USDT && (await usdtBalance(cold.address)) === 20n * USDT,
      'HOT and COLD balances',
      60_000,
      200,
    );
    const tokenSteps = (await stepsOf(collector, m.merchantId)).filter((s) => s.action === 'token');
    expect(tokenSteps.map((s) => [s.from_wallets[0]!.address, s.to_address]).sort()).toEqual(
      [
        [users[0]!.address, cold.address],
        [users[1]!.address, hot.address],
      ].sort(),
    );
  });

  it('the signer signs only with the merchant own keys and never returns one', async () => {
    const { m, tc, users } = await setUp(1, { collectThreshold: '5', hotTarget: '1000', maxFeeRatio: '0.05' });
    const other = merchant();
    const otherTc = await addresses(world).createAddress(other, { networkId: 'dev-evm', type: 'TOKENS_COLLECTOR' });
    const request = (from: { type: 'KEY'; keyId: string; address: string } | { type: 'USER'; index: number; address: string }) =>
      world.client.request(
        'signer.collect_sign',
        {
          kind: 'transfer',
          merchantId: m.merchantId,
          networkId: 'dev-evm',
          requestId: `test-${Date.now()}`,
          from,
          to: users[0]!.address,
          coinId: ETH_ID,
          amount: '1000',
          sweepAll: false,
        },
        20_000,
      );
    // Another merchant's key id, or an address the key does not control, is refused.
    await expect(request({ type: 'KEY', keyId: otherTc.signerKeyId!, address: otherTc.address })).rejects.toThrow(/not a key of merchant/);
    await expect(request({ type: 'KEY', keyId: tc.signerKeyId!, address: users[0]!.address })).rejects.toThrow(/does not control/);
    await expect(request({ type: 'USER', index: users[0]!.derivationIndex! + 1, address: users[0]!.address })).rejects.toThrow(/does not control/);
    // The merchant's own key, to its own USER address (a gas top-up's shape), but no step the
    // collector planned: refused for good. The sweeps above show what a planned step gets.
    collector = await startCollector(world);
    await expect(request({ type: 'KEY', keyId: tc.signerKeyId!, address: tc.address })).rejects.toThrow(
      /^rpc signer\.collect_sign failed: refused: not a step the collector persisted: no such step$/,
    );
    expect(await nonceOf(tc.address)).toBe(0);
  });
});

/** A counter of the signer's /readyz (counters are per process; the tests compare before and after). */
async function signerCounter(name: string): Promise<number> {
  const body = (await (await fetch(`http://127.0.0.1:${world.signer.port}/readyz`)).json()) as { counters: Record<string, number> };
  return body.counters[name] ?? 0;
}

describe('the signer re-checks every step against the address subgraph and the collector', () => {
  it('address.lookup: the one owner of any spelling (a second merchant cannot register it), a cooling-off cold wallet reported not usable, nothing for outside addresses', async () => {
    const a = merchant();
    const b = merchant();
    const hotA = await addresses(world).createAddress(a, { networkId: 'dev-evm', type: 'HOT' });
    const shared = Wallet.createRandom().address;
    const coldA = await addresses(world).registerColdWallet(a, { networkId: 'dev-evm', address: shared });
    // One owner per address: B cannot register A's cold wallet, in any spelling.
    await expect(addresses(world).registerColdWallet(b, { networkId: 'dev-evm', address: shared.toLowerCase() })).rejects.toMatchObject({
      extensions: { code: 'CONFLICT' },
    });
    const lookup = (address: string, merchantId?: string, networkId = 'dev-evm') =>
      world.client.request('address.lookup', { networkId, address, ...(merchantId ? { merchantId } : {}) }, 5_000);
    expect(await lookup(hotA.address.toLowerCase())).toEqual({
      found: true,
      addressId: hotA.id,
      merchantId: a.merchantId,
      networkId: 'dev-evm',
      address: hotA.address,
      type: 'HOT',
    });
    // The owner, whoever asks; a cold wallet still cooling off is reported as not usable.
    expect(await lookup(shared, b.merchantId)).toMatchObject({
      found: true,
      addressId: coldA.id,
      merchantId: a.merchantId,
      type: 'COLD',
      coldWalletUsable: false,
    });
    expect(await lookup(shared, a.merchantId)).toMatchObject({
      found: true,
      addressId: coldA.id,
      merchantId: a.merchantId,
      type: 'COLD',
      coldWalletStatus: 'COOLING_OFF',
      coldWalletUsable: false,
    });
    expect(await lookup(Wallet.createRandom().address, a.merchantId)).toEqual({ found: false });
    expect(await lookup('not an address')).toEqual({ found: false });
    expect(await lookup(hotA.address, a.merchantId, 'nowhere')).toEqual({ found: false });
    // A HOT wallet serves its own network only.
    expect(await lookup(hotA.address, a.merchantId, 'ethereum')).toEqual({ found: false });
  });

  it('refuses a transfer to an outside address or to another merchant HOT wallet, and a step the collector never persisted: nothing is signed', async () => {
    const { m, hot, tc, cold, users } = await setUp(1, { collectThreshold: '5', hotTarget: '1000', maxFeeRatio: '0.05' });
    const other = merchant();
    const otherHot = await addresses(world).createAddress(other, { networkId: 'dev-evm', type: 'HOT' });
    collector = await startCollector(world);
    const before = await signerCounter('signer.collect_sign.refused');
    const user = { type: 'USER' as const, index: users[0]!.derivationIndex!, address: users[0]!.address };
    const sign = (from: typeof user | { type: 'KEY'; keyId: string; address: string }, to: string, coinId = USDT_ID, requestId: string = randomUUID()) =>
      world.client.request(
        'signer.collect_sign',
        { kind: 'transfer', merchantId: m.merchantId, networkId: 'dev-evm', requestId, from, to, coinId, amount: '1000', sweepAll: false },
        20_000,
      );
    const refused = (reason: string) => new RegExp(`^rpc signer\\.collect_sign failed: refused: ${reason}$`);
    const outside = Wallet.createRandom().address;
    await expect(sign(user, outside)).rejects.toThrow(refused(`destination ${outside} is not a registered address`));
    await expect(sign(user, otherHot.address)).rejects.toThrow(refused(`destination ${otherHot.address} belongs to another merchant`));
    // A wallet key may fund the merchant's own USER addresses with gas, never anyone else.
    await expect(sign({ type: 'KEY', keyId: tc.signerKeyId!, address: tc.address }, outside, ETH_ID)).rejects.toThrow(
      refused(`destination ${outside} is not a registered address`),
    );
    // Every address the merchant's own, but a step the collector never planned.
    for (const to of [hot.address, cold.address]) await expect(sign(user, to)).rejects.toThrow(refused('not a step the collector persisted: no such step'));
    expect(await signerCounter('signer.collect_sign.refused')).toBe(before + 5);
    expect(await nonceOf(users[0]!.address)).toBe(0);
    expect(await nonceOf(tc.address)).toBe(0);
    expect(await usdtBalance(outside)).toBe(0n);
  });

  it('a forged policy and cold-wallet status naming an outside address: the collector plans the sweep, the signer refuses it, the step fails for good and the funds stay', async () => {
    const m = merchant();
    const svc = addresses(world);
    const hot = await svc.createAddress(m, { networkId: 'dev-evm', type: 'HOT' });
    const tc = await svc.createAddress(m, { networkId: 'dev-evm', type: 'TOKENS_COLLECTOR' });
    const user = await svc.createAddress(m, { networkId: 'dev-evm', coinId: USDT_ID });
    await dev.fund(tc.address, ETH_ID, ETH);
    await trackerWatches(world, user.address);
    // Planned once, from the deposit: no periodic pass plans the same refused sweep again.
    collector = await startCollector(world, { passMs: 600_000 });
    await collectorKnows(collector, [hot.id, tc.id, user.id]);
    const outside = Wallet.createRandom().address;
    const forgedColdId = randomUUID();
    // What a publisher able to forge collection.policy_updated and address.cold_wallet_updated (or
    // write the collector's copies) could set: the collector's own check then lets it through.
    await world.client.publish(
      'address.cold_wallet_updated',
      {
        addressId: forgedColdId,
        merchantId: m.merchantId,
        networkId: 'dev-evm',
        address: outside,
        event: 'approved',
        status: 'ACTIVE',
        usableFrom: null,
        at: new Date().toISOString(),
      },
      { id: randomUUID(), key: forgedColdId },
    );
    await world.client.publish(
      'collection.policy_updated',
      {
        merchantId: m.merchantId,
        networkId: 'dev-evm',
        coinId: USDT_ID,
        collectThreshold: (5n * USDT).toString(),
        hotTarget: '0',
        coldWalletId: forgedColdId,
        coldWalletAddress: outside,
        maxFeeRatio: '0.05',
        updatedAt: new Date().toISOString(),
      },
      { id: randomUUID(), key: m.merchantId },
    );
    await collectorKnows(collector, [user.id], { merchantId: m.merchantId, coinId: USDT_ID });
    await eventually(
      async () => (await collector!.orm.em.fork().execute(`select 1 from collector.cold_wallets where address_id = ?`, [forgedColdId])).length > 0,
      'the collector took the forged cold wallet status',
      15_000,
      50,
    );
    const before = await signerCounter('signer.collect_sign.refused');
    await dev.fund(user.address, USDT_ID, 30n * USDT);
    await eventually(async () => (await plansOf(collector!, m.merchantId))[0]?.status === 'FAILED', 'the plan failed', 60_000, 200);
    const [plan] = await plansOf(collector, m.merchantId);
    const steps = await collector.orm.em
      .fork()
      .execute<{ kind: string; to_address: string; status: string; error: string | null; attempts: number }[]>(
        `select kind, to_address, status, error, attempts from collector.steps where plan_id = ? order by seq`,
        [plan!.id],
      );
    // The gas top-up (to the merchant's own USER address) was signed and sent; the sweep to the
    // outside address was refused once and not retried. (A later plan may try again: refused again.)
    expect(steps.map((s) => [s.kind, s.to_address, s.status])).toEqual([
      ['gas_topup', user.address, 'CONFIRMED'],
      ['cold_forward', outside, 'FAILED'],
    ]);
    expect(steps[1]!.error).toBe(`rpc signer.collect_sign failed: refused: destination ${outside} is not a registered address`);
    expect(steps[1]!.attempts).toBe(0);
    expect(await signerCounter('signer.collect_sign.refused')).toBeGreaterThan(before);
    expect(await usdtBalance(outside)).toBe(0n);
    expect(await usdtBalance(user.address)).toBe(30n * USDT);
    expect(await nonceOf(user.address)).toBe(0);
  });
});
