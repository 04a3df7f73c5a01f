import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LitecoinDevControls, startLitecoind, type LitecoindHandle } from '@cpg/shared/chains/bitcoin/dev';
import { getNetwork, type NetworkConfig } from '@cpg/shared/chains';
import type { Bus } from '@cpg/shared/bus';
import { createTestEnv, eventually, type TestEnv } from '@cpg/shared/testing';
import { startTrackerWorker, type RunningTracker } from '../src/worker';
import { EventLog, register, testBus } from './helpers';

// Litecoin regtest in its own datadir on free ports; the node pushes no heads, so the loop
// notices blocks by a short tip poll, and sees deposits in the mempool before any block.

jest.setTimeout(90_000);

let env: TestEnv;
let node: LitecoindHandle;
let dataDir: string;
let network: NetworkConfig;
let dev: LitecoinDevControls;
let tracker: RunningTracker;
let bus: Bus;
let events: EventLog;

beforeAll(async () => {
  env = await createTestEnv();
  dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'cpg-tracker-ltc-'));
  // Litecoin Core refuses BIP125 replacements unless told otherwise; the fee-bump case needs them.
  node = await startLitecoind({ dataDir, extraArgs: ['-mempoolreplacement=1'] });
  network = { ...getNetwork('dev-ltc'), rpc: [{ url: node.rpcUrl, username: 'cpg', password: 'cpg' }], confirmations: 3 };
  dev = new LitecoinDevControls(network, node.transport, node.walletTransport);
  bus = await testBus(env);
  events = new EventLog(bus);
  await events.start();
  tracker = await startTrackerWorker(env.workerConfig(), {
    log: env.log,
    networks: [network],
    leaseTtlMs: 3000,
    scanner: { pollIntervalMs: 100, statusIntervalMs: 300 },
  });
  const tip = await node.transport.call<number>('getblockcount');
  await eventually(async () => (tracker.scanners.get('dev-ltc')!.status().scannedHeight ?? -1) >= tip, 'tracker at the tip', 20_000);
});

afterAll(async () => {
  await tracker?.stop();
  await events?.stop();
  await bus?.close();
  await node?.stop();
  if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
  await env?.cleanup();
});

describe('tracker on dev-ltc', () => {
  it('sees an LTC deposit in the mempool, then in its block, and confirms it at depth 3', async () => {
    const address = await node.walletTransport.call<string>('getnewaddress', ['', 'bech32']);
    // Registered in upper case: bech32 compares case-insensitively.
    const a = await register(bus, address.toUpperCase(), { networks: ['dev-ltc'] });
    await eventually(async () => tracker.watchLists.lists.get('dev-ltc')!.get(address), 'watching');
    const txHash = await dev.fund(address, network.nativeCoin.id, 12_345_678n);

    const [pending] = await events.wait('seen', txHash, 'seen in the mempool');
    expect(pending).toMatchObject({
      network: 'dev-ltc',
      to: address,
      amount: '12345678',
      blockHeight: null,
      blockHash: null,
      confirmations: 0,
      addressId: a.addressId,
      internal: false,
    });

    const height = await dev.mine(1);
    const inBlock = await eventually(async () => {
      const s = events.of('seen', txHash).filter((e) => e.blockHash !== null);
      return s.length ? s : undefined;
    }, 'seen in a block');
    expect(inBlock[0]).toMatchObject({ blockHeight: height, confirmations: 1, index: pending!.index });
    expect(events.of('confirmed', txHash)).toEqual([]);

    await dev.mine(2);
    const [confirmed] = await events.wait('confirmed', txHash, 'confirmed');
    expect(confirmed).toMatchObject({ blockHeight: height, confirmations: 3 });
  });

  it('reports a reorg of depth 2 and sees the transaction again in the new branch', async () => {
    const address = await node.walletTransport.call<string>('getnewaddress', ['', 'bech32']);
    await register(bus, address, { networks: ['dev-ltc'] });
    await eventually(async () => tracker.watchLists.lists.get('dev-ltc')!.get(address), 'watching');
    const txHash = await dev.fund(address, network.nativeCoin.id, 1_000_000n);
    const height = await dev.mine(2);
    const inBlock =
      (await events.wait('seen', txHash)).find((e) => e.blockHash !== null) ??
      (await eventually(async () => events.of('seen', txHash).find((e) => e.blockHash !== null), 'in a block'));
    await eventually(async () => (tracker.scanners.get('dev-ltc')!.status().scannedHeight ?? 0) >= height, 'scanned');
    // Both blocks are invalidated; the transaction returns to the mempool and into the new branch.
    await dev.reorg(2);
    const [reorged] = await events.wait('reorged', txHash);
    expect(reorged).toMatchObject({ blockHash: inBlock.blockHash });
    const again = await eventually(
      async () => events.of('seen', txHash).find((e) => e.blockHash !== null && e.blockHash !== inBlock.blockHash),
      'seen in the new branch',
    );
    expect(again.blockHeight).toBe(inBlock.blockHeight);
  });

  it('reports a mempool deposit replaced by a fee bump as reorged, and sees the replacement', async () => {
    const address = await node.walletTransport.call<string>('getnewaddress', ['', 'bech32']);
    await register(bus, address, { networks: ['dev-ltc'] });
    await eventually(async () => tracker.watchLists.lists.get('dev-ltc')!.get(address), 'watching');
    const original = await dev.fund(address, network.nativeCoin.id, 2_000_000n, { replaceable: true });
    const [pending] = await events.wait('seen', original, 'original seen in the mempool');
    expect(pending!.blockHash).toBeNull();
    const replacement = await dev.bumpFee(original);
    const [dropped] = await events.wait('reorged', original, 'original reported dropped');
    expect(dropped).toMatchObject({ blockHash: null, addressId: pending!.addressId });
    await events.wait('seen', replacement, 'replacement seen');
    await dev.mine(1);
    await eventually(async () => events.of('seen', replacement).some((e) => e.blockHash !== null), 'replacement in a block');
    expect(events.of('seen', original).filter((e) => e.blockHash !== null)).toEqual([]);
  });

  it('reports a mempool deposit dropped while the tracker was down as reorged after its restart', async () => {
    const address = await node.walletTransport.call<string>('getnewaddress', ['', 'bech32']);
    await register(bus, address, { networks: ['dev-ltc'] });
    await eventually(async () => tracker.watchLists.lists.get('dev-ltc')!.get(address), 'watching');
    const original = await dev.fund(address, network.nativeCoin.id, 3_000_000n, { replaceable: true });
    await events.wait('seen', original, 'original seen in the mempool');
    await tracker.stop();
    const replacement = await dev.bumpFee(original);
    await dev.mine(1);
    // A new process: nothing of the old one's memory, only what it stored.
    tracker = await startTrackerWorker(env.workerConfig(), {
      log: env.log,
      networks: [network],
      leaseTtlMs: 3000,
      scanner: { pollIntervalMs: 100, statusIntervalMs: 300 },
    });
    const [dropped] = await events.wait('reorged', original, 'original reported dropped after the restart', 30_000);
    expect(dropped).toMatchObject({ blockHash: null });
    await eventually(async () => events.of('seen', replacement).some((e) => e.blockHash !== null), 'replacement seen in its block', 30_000);
    expect(events.of('reorged', original)).toHaveLength(1);
  });
});
