import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LitecoinDevControls, startLitecoind, type LitecoindHandle } from '@cpg/devkit/chains/bitcoin/dev';
import { getNetwork, type NetworkConfig } from '@cpg/chains';
import type { Bus } from '@cpg/core/bus';
import { createTestEnv, eventually, type TestEnv } from '@cpg/devkit/testing';
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
  tracker = await startTrackerWorker(env.workerConfig(env.natsAuth('tracker')), {
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

  it("names the sender of each deposit (the first input's address) and tags a transfer from our own HOT address internal", async () => {
    const wallet = node.walletTransport;
    const merchantId = '0b7e1c2a-0d3f-4e5a-9b8c-7d6e5f4a3b2c';
    const hot = await wallet.call<string>('getnewaddress', ['', 'bech32']);
    const user = await wallet.call<string>('getnewaddress', ['', 'bech32']);
    await register(bus, hot, { merchantId, type: 'HOT', networks: ['dev-ltc'] });
    const u = await register(bus, user, { merchantId, networks: ['dev-ltc'] });
    await eventually(async () => tracker.watchLists.lists.get('dev-ltc')!.get(user) && tracker.watchLists.lists.get('dev-ltc')!.get(hot), 'watching');
    // From outside (the node's faucet coins) to HOT: a deposit, with its sender named.
    const refill = await dev.fund(hot, network.nativeCoin.id, 50_000_000n);
    await dev.mine(1);
    const [outside] = await events.wait('seen', refill, 'refill seen');
    expect(outside!.internal).toBe(false);
    expect(outside!.from).toMatch(/^rltc1/);
    // HOT pays USER, spending exactly the HOT coin, change back to HOT: our own money moving.
    const coins = await wallet.call<{ txid: string; vout: number; address: string; amount: number }[]>('listunspent', [1, 9999999, [hot]]);
    const coin = coins.find((c) => c.txid === refill)!;
    const raw = await wallet.call<string>('createrawtransaction', [[{ txid: coin.txid, vout: coin.vout }], { [user]: 0.2, [hot]: 0.2999 }]);
    const signed = await wallet.call<{ hex: string }>('signrawtransactionwithwallet', [raw]);
    const sweep = await node.transport.call<string>('sendrawtransaction', [signed.hex]);
    const seen = await events.wait('seen', sweep, 'the HOT -> USER transfer', 15_000);
    const toUser = seen.find((e) => e.addressId === u.addressId)!;
    expect(toUser).toMatchObject({ internal: true, from: hot });
    expect(seen.every((e) => e.internal)).toBe(true);
    await dev.mine(1);
    await eventually(async () => events.of('seen', sweep).some((e) => e.blockHash !== null), 'in its block');
    expect(events.of('seen', sweep).every((e) => e.internal && e.from === hot)).toBe(true);
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
    tracker = await startTrackerWorker(env.workerConfig(env.natsAuth('tracker')), {
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
