import { Wallet } from 'ethers';
import { DEV_USDT } from '@cpg/chains/evm/contracts';
import { anvilAccount, deployDevUsdt, EvmDevControls, sendUnsimulated, startAnvil, type AnvilHandle } from '@cpg/devkit/chains/evm/dev';
import { ERC20, EvmSigner, waitForReceipt } from '@cpg/chains/evm/signer';
import { EvmWatcher } from '@cpg/chains/watchers';
import { INTERNAL_INDEX_BASE } from '@cpg/chains/evm/extract';
import { ChainError, DEV_EVM_USDT_ADDRESS, getNetwork, type ChainWatcher, type NetworkConfig, type SigningKey } from '@cpg/chains';
import { createRpcPool, type RpcPool } from '@cpg/chains/rpc';
import type { Bus } from '@cpg/core/bus';
import { createTestEnv, eventually, type TestEnv } from '@cpg/devkit/testing';
import { startTrackerWorker, type RunningTracker } from '../src/worker';
import { EventLog, register, testBus } from './helpers';

// One anvil, one tracker and one database per file. Confirmations are 3 so that "seen" and
// "confirmed" are distinct moments the test controls by mining.

const ETH = 'dev-evm:ETH';
const USDT = 'dev-evm:USDT';
let env: TestEnv;
let anvil: AnvilHandle;
let network: NetworkConfig;
let transport: RpcPool;
let controls: EvmDevControls;
let signer: EvmSigner;
let tracker: RunningTracker;
let bus: Bus;
let events: EventLog;
/** While true every watcher call fails as an unreachable node would. */
let outage = false;

function breakable(w: ChainWatcher): ChainWatcher {
  return new Proxy(w, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver);
      if (typeof v !== 'function' || prop === 'onNewHead' || prop === 'close') return typeof v === 'function' ? v.bind(target) : v;
      return (...args: unknown[]) => (outage ? Promise.reject(new ChainError('node unreachable (test outage)', true)) : v.apply(target, args));
    },
  });
}

async function watched(address: string, opts: Parameters<typeof register>[2] = { networks: ['dev-evm'] }) {
  const r = await register(bus, address, opts);
  await eventually(async () => tracker.watchLists.lists.get('dev-evm')!.get(address), `tracker watching ${address}`);
  return r;
}

async function scannedTo(height: number): Promise<void> {
  await eventually(async () => (tracker.scanners.get('dev-evm')!.status().scannedHeight ?? -1) >= height, `tracker at ${height}`, 15_000);
}

async function tip(): Promise<number> {
  return Number(await transport.call<string>('eth_blockNumber'));
}

/** Sends a transaction without simulation (so one that reverts still lands) and waits for it. */
async function forceOnChain(key: SigningKey, to: string, data: string, value = 0n): Promise<string> {
  const hash = await sendUnsimulated(transport, key, to, data, value);
  await waitForReceipt(transport, hash, { timeoutMs: 10_000, intervalMs: 20 });
  return hash;
}

beforeAll(async () => {
  env = await createTestEnv();
  anvil = await startAnvil({ port: 0 });
  await deployDevUsdt(anvil.rpcUrl);
  network = { ...getNetwork('dev-evm', { DEV_EVM_RPC_URL: anvil.rpcUrl }), confirmations: 3 };
  transport = createRpcPool(network.rpc);
  controls = new EvmDevControls(network, transport);
  signer = new EvmSigner(network, transport);
  bus = await testBus(env);
  events = new EventLog(bus);
  await events.start();
  tracker = await startTrackerWorker(env.workerConfig(env.natsAuth('tracker')), {
    log: env.log,
    networks: [network],
    watcherFor: (n) => breakable(new EvmWatcher(n, createRpcPool(n.rpc), { pollIntervalMs: 100 })),
    leaseTtlMs: 3000,
    scanner: { pollIntervalMs: 200, idleRecheckMs: 500, statusIntervalMs: 300 },
  });
  await scannedTo(await tip());
});

afterAll(async () => {
  await tracker?.stop();
  await events?.stop();
  await bus?.close();
  await anvil?.stop();
  await env?.cleanup();
});

describe('tracker on dev-evm', () => {
  it('sees an ETH deposit in its block and confirms it at depth 3', async () => {
    const a = await watched(Wallet.createRandom().address);
    const txHash = await controls.fund(a.address, ETH, 10n ** 18n);
    const [seen] = await events.wait('seen', txHash, 'seen');
    expect(seen).toMatchObject({
      network: 'dev-evm',
      coinId: ETH,
      amount: '1000000000000000000',
      index: INTERNAL_INDEX_BASE,
      confirmations: 1,
      internal: false,
      addressId: a.addressId,
      merchantId: a.merchantId,
    });
    expect(seen!.blockHeight).toBe(await tip());
    await controls.mine(1);
    await scannedTo(seen!.blockHeight! + 1);
    expect(events.of('confirmed', txHash)).toHaveLength(0);
    await controls.mine(1);
    const [confirmed] = await events.wait('confirmed', txHash, 'confirmed');
    expect(confirmed).toMatchObject({ confirmations: 3, blockHash: seen!.blockHash, addressId: a.addressId });
  });

  it('sees a USDT deposit (checksummed watch entry, lower-case on chain) and confirms it', async () => {
    const a = await watched(Wallet.createRandom().address);
    const txHash = await controls.fund(a.address, USDT, 25_000_000n);
    const [seen] = await events.wait('seen', txHash, 'seen');
    expect(seen).toMatchObject({ coinId: USDT, amount: '25000000', internal: false, addressId: a.addressId });
    await controls.mine(2);
    await eventually(async () => events.of('confirmed', txHash).length === 1, 'confirmed');
  });

  it('finds a deposit made before the tracker learned the address (blocks already committed are rescanned)', async () => {
    // The customer pays the moment the address exists; address.created reaches the tracker later.
    const address = Wallet.createRandom().address;
    const early = await controls.fund(address, USDT, 7_000_000n);
    await controls.mine(3);
    const deep = await tip();
    await scannedTo(deep);
    expect(events.of('seen', early)).toEqual([]);
    const a = await register(bus, address, { networks: ['dev-evm'] });
    const [seen] = await events.wait('seen', early, 'seen after the rescan');
    expect(seen).toMatchObject({ coinId: USDT, amount: '7000000', addressId: a.addressId, blockHeight: deep - 3, internal: false });
    // Already at depth 4 of 3 when found: confirmed at once, once.
    const [confirmed] = await events.wait('confirmed', early, 'confirmed after the rescan');
    expect(confirmed).toMatchObject({ blockHash: seen!.blockHash, confirmations: 4 });
    // Later blocks are matched as usual; the rescan is not repeated.
    const later = await controls.fund(address, ETH, 10n ** 15n);
    await events.wait('seen', later, 'a later deposit');
    await controls.mine(3);
    await events.wait('confirmed', later, 'the later deposit confirmed');
    expect(events.of('seen', early)).toHaveLength(1);
    expect(events.of('confirmed', early)).toHaveLength(1);
  });

  it('publishes chain.status with the scanned height and the tip', async () => {
    const t = await tip();
    await eventually(async () => events.statuses.some((s) => s.available && s.scannedHeight === t && s.tipHeight === t && s.lagBlocks === 0), 'status');
  });

  it.each([1, 3])('reports a reorg of depth %i and sees the replacement block anew', async (depth) => {
    const a = await watched(Wallet.createRandom().address);
    const tx = await signer.sign(anvilAccount(0), [{ to: a.address, coinId: ETH, amount: 10n ** 16n }]);
    await signer.broadcast(tx);
    const [seen] = await events.wait('seen', tx.txHash, 'seen');
    if (depth > 1) await controls.mine(depth - 1);
    const top = await tip();
    expect(top - seen!.blockHeight! + 1).toBe(depth);
    await scannedTo(top);
    // The orphaned deposit's transaction lands again, in the first block of the new branch.
    await transport.call('anvil_reorg', [depth, [[tx.raw, 0]]]);
    const [reorged] = await events.wait('reorged', tx.txHash, 'reorged');
    expect(reorged).toMatchObject({ blockHash: seen!.blockHash, addressId: a.addressId });
    const again = await eventually(async () => {
      const s = events.of('seen', tx.txHash).filter((e) => e.blockHash !== seen!.blockHash);
      return s.length ? s : undefined;
    }, 'seen in the replacement block');
    expect(again).toHaveLength(1);
    expect(again[0]!.blockHeight).toBe(seen!.blockHeight);
    const receipt = await transport.call<{ blockHash: string }>('eth_getTransactionReceipt', [tx.txHash]);
    expect(again[0]!.blockHash).toBe(receipt.blockHash.toLowerCase());
  });

  it('reports no deposit for an unregistered token or a reverted transfer, and tags transfers between our own addresses internal', async () => {
    const merchantId = '5b7e1c2a-0d3f-4e5a-9b8c-7d6e5f4a3b2c';
    const user = await watched(Wallet.createRandom().address, { merchantId, networks: ['dev-evm'] });
    const hotKey = anvilAccount(1);
    await watched(hotKey.address, { merchantId, type: 'HOT', networks: ['dev-evm'] });
    const stranger = anvilAccount(2);

    // A token nobody registered, deployed by a stranger who then pays our address with it.
    const { tx: deployTx, address: fakeToken } = await new EvmSigner(network, transport).signDeployment(stranger, DEV_USDT.bytecode);
    await signer.broadcast(deployTx);
    await waitForReceipt(transport, deployTx.txHash, { timeoutMs: 10_000, intervalMs: 20 });
    const unregistered = await forceOnChain(stranger, fakeToken, ERC20.encodeFunctionData('transfer', [user.address, 1_000_000n]));
    // The registered token, from an account holding none of it: the transfer reverts.
    const reverted = await forceOnChain(anvilAccount(3), DEV_EVM_USDT_ADDRESS, ERC20.encodeFunctionData('transfer', [user.address, 1_000_000n]));
    expect((await transport.call<{ status: string }>('eth_getTransactionReceipt', [reverted])).status).toBe('0x0');
    // A top-up from the merchant's own hot wallet.
    const topUp = await signer.sign(hotKey, [{ to: user.address, coinId: ETH, amount: 10n ** 15n }]);
    await signer.broadcast(topUp);
    await waitForReceipt(transport, topUp.txHash, { timeoutMs: 10_000, intervalMs: 20 });
    // A real deposit after all of them: once it is seen, the blocks before it were scanned.
    const barrier = await controls.fund(user.address, ETH, 10n ** 15n);
    await eventually(async () => events.of('seen', barrier).length, 'barrier seen');

    expect(events.of('seen', unregistered)).toEqual([]);
    expect(events.of('seen', reverted)).toEqual([]);
    const [internal] = events.of('seen', topUp.txHash);
    expect(internal).toMatchObject({ internal: true, from: expect.stringMatching(new RegExp(hotKey.address, 'i')), addressId: user.addressId });
    expect(events.of('seen', barrier)[0]!.internal).toBe(false);
  });

  it('keeps the loop alive through an RPC outage and reports the chain unavailable meanwhile', async () => {
    const a = await watched(Wallet.createRandom().address);
    outage = true;
    await eventually(async () => events.statuses.some((s) => !s.available && /node unreachable/.test(s.error ?? '')), 'status unavailable', 15_000);
    const txHash = await controls.fund(a.address, ETH, 10n ** 15n);
    await new Promise((r) => setTimeout(r, 500));
    expect(events.of('seen', txHash)).toEqual([]);
    outage = false;
    await eventually(async () => events.of('seen', txHash).length, 'seen after the outage', 20_000);
    expect(tracker.scanners.get('dev-evm')!.status().available).toBe(true);
  });
});
