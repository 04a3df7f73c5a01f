// A reorg deeper than the network's confirmations takes a confirmed sweep back out of the chain
// (real anvil, real tracker and signer): the collector reopens that step and sends the same signed
// transaction again. No second plan signs the same coins meanwhile, the fee is charged once and
// the transaction that pays it is on the chain in the end.
import { type NetworkConfig, getNetwork } from '@cpg/chains';
import { type AnvilHandle, EvmDevControls, startAnvil } from '@cpg/devkit/chains/evm/dev';
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
  startWorld,
  stepsOf,
  stopWorld,
  trackerWatches,
} from './helpers';

jest.setTimeout(120_000);

const ETH_ID = 'dev-evm:ETH';
const ETH = 10n ** 18n;

let env: TestEnv;
let anvil: AnvilHandle;
let network: NetworkConfig;
let rpc: RpcPool;
let dev: EvmDevControls;
let world: World;
let collector: RunningCollector | undefined;

beforeAll(async () => {
  env = await createTestEnv();
  anvil = await startAnvil({ port: 0 });
  process.env.DEV_EVM_RPC_URL = anvil.rpcUrl;
  network = getNetwork('dev-evm');
  rpc = createRpcPool(network.rpc);
  dev = new EvmDevControls(network, rpc);
  world = await startWorld(env, network);
});

afterAll(async () => {
  await collector?.stop().catch(() => undefined);
  await stopWorld(world ?? {});
  await rpc?.close();
  await anvil?.stop();
  await env?.cleanup();
});

const receipt = (hash: string) => rpc.call<{ blockNumber: string; status: string } | null>('eth_getTransactionReceipt', [hash]);

/** A merchant with a HOT wallet and one ETH USER address holding 1 ETH, swept by the collector to HOT; returns the sweep step. */
async function sweptOnce() {
  const m = merchant();
  const svc = addresses(world);
  const hot = await svc.createAddress(m, { networkId: 'dev-evm', type: 'HOT' });
  const user = await svc.createAddress(m, { networkId: 'dev-evm', coinId: ETH_ID });
  await collection(world).setPolicy(m, { coinId: ETH_ID, collectThreshold: '0.1', hotTarget: '100', maxFeeRatio: '0.05' });
  await trackerWatches(world, user.address);
  await trackerWatches(world, hot.address);
  await dev.fund(user.address, ETH_ID, ETH);
  collector ??= await startCollector(world);
  await collectorKnows(collector, [hot.id, user.id], { merchantId: m.merchantId, coinId: ETH_ID });
  await eventually(async () => (await plansOf(collector!, m.merchantId)).some((p) => p.status === 'DONE'), 'the sweep plan done', 60_000, 200);
  const [sweep, ...others] = await stepsOf(collector, m.merchantId);
  expect(others).toEqual([]);
  expect(sweep).toMatchObject({ kind: 'sweep', status: 'CONFIRMED' });
  return { m, user, sweep: sweep!, hash: sweep!.tx_hash! };
}

/** Replaces the blocks from the one holding `hash` on with empty ones: the transaction is gone. */
async function reorgOut(hash: string): Promise<void> {
  const mined = await receipt(hash);
  const tip = Number(await rpc.call<string>('eth_blockNumber'));
  await rpc.call('anvil_reorg', [tip - Number(mined!.blockNumber) + 1, []]);
  expect(await receipt(hash)).toBeNull();
}

/** The same transaction mined again, the one plan done again with its one step, one fee. */
async function sentAgain(m: ReturnType<typeof merchant>, sweep: { id: string }, hash: string, user: { address: string }): Promise<void> {
  await eventually(async () => (await receipt(hash))?.status === '0x1', 'the same sweep transaction mined again', 60_000, 200);
  await eventually(async () => (await plansOf(collector!, m.merchantId)).every((p) => p.status === 'DONE'), 'the reopened plan done again', 30_000, 200);
  const after = await stepsOf(collector!, m.merchantId);
  expect(after.map((s) => [s.id, s.status, s.tx_hash])).toEqual([[sweep.id, 'CONFIRMED', hash]]);
  expect(await plansOf(collector!, m.merchantId)).toHaveLength(1);
  await new Promise((r) => setTimeout(r, 1000));
  expect(world.observed.fees.filter((f) => f.stepId === sweep.id)).toHaveLength(1);
  expect(BigInt(await rpc.call<string>('eth_getBalance', [user.address, 'latest']))).toBeLessThan(ETH / 100n);
}

it('a confirmed sweep the tracker reports reorged out is sent again, as the same transaction, with its fee charged once', async () => {
  const { m, user, sweep, hash } = await sweptOnce();
  // Down during the reorg (a pass half-way through planning then is the case this does not
  // cover, see reopenVanished); the tracker's reorged event waits for it in its durable consumer.
  await collector!.stop();
  await reorgOut(hash);
  collector = await startCollector(world);
  await sentAgain(m, sweep, hash, user);
});

it('the same when the tracker never saw the block: the planner finds the transaction gone before it signs anything new', async () => {
  const { m, user, sweep, hash } = await sweptOnce();
  // No tracker from here on: no reorged event will come. The collector is down while the reorg
  // happens (so no pass of it is half-way through planning then); started again, its first pass
  // finds the transaction gone before planning anything.
  await collector!.stop();
  await world.tracker.stop();
  await reorgOut(hash);
  collector = await startCollector(world);
  await sentAgain(m, sweep, hash, user);
});
