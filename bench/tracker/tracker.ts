/**
 * Tracker benchmarks, each against a baseline measured in the same run:
 * - matching: JSON.parse of a recorded mainnet block, its transfers as the watcher hands them
 *   over, and the tracker's matchTransfers against 1,000,000 watched addresses, vs a bare loop of
 *   JSON.parse + Set lookup of the same recipients in a Set of the same addresses. Transfers
 *   matched per second; goal >= 0.7x.
 * - memory: resident size of a process holding the 1,000,000-address watch list (a child process,
 *   so nothing else is counted). Goal <= 300 MB, reported as 300 / actual.
 * - latency: block mined -> chain.transfer.seen received, over 200 blocks on anvil, vs a bare
 *   ethers block listener polling at the same interval in the same run. Reported as
 *   baseline / ours (higher is better); goal 0.67, i.e. at most 1.5x the bare listener.
 *
 *   npx tsx bench/tracker/tracker.ts
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { JsonRpcProvider, Wallet } from 'ethers';
import { Bus } from '@cpg/core/bus/bus';
import { anvilAccount, startAnvil } from '@cpg/devkit/chains/evm/dev';
import { EvmWatcher } from '@cpg/chains/evm/watcher';
import type { RawBlock } from '@cpg/chains/evm/raw';
import { getNetwork } from '@cpg/chains/networks';
import { createRpcPool } from '@cpg/chains/rpc';
import type { Transfer } from '@cpg/chains/types';
import { createTestEnv, eventually } from '@cpg/devkit/testing';
import { matchTransfers } from '../../workers/tracker/src/domain/match';
import { WatchList } from '../../workers/tracker/src/domain/watchlist';
import { startTrackerWorker } from '../../workers/tracker/src/worker';
import { race } from '../lib/race';

export interface BenchResult {
  name: string;
  ratio: number;
  goal: number;
  detail: string;
}

const WATCHED = 1_000_000;
const BLOCK_FILE = path.join(__dirname, '../../shared/fixtures/evm/eth_mainnet_eth_getBlockByNumber_17053184_full_tx.json');
const TRANSFER_SELECTOR = '0xa9059cbb';
const MERCHANTS = Array.from({ length: 1000 }, (_, i) => `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`);

/** `count` distinct random lower-case EVM addresses, from one random buffer (fast to make). */
function randomAddresses(count: number): string[] {
  const bytes = randomBytes(count * 20).toString('hex');
  const out = new Array<string>(count);
  for (let i = 0; i < count; i++) out[i] = `0x${bytes.slice(i * 40, i * 40 + 40)}`;
  return out;
}

function addressIdOf(i: number): string {
  const h = i.toString(16).padStart(20, '0');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-000000000000`;
}

function fillWatchList(list: WatchList, addresses: string[]): void {
  for (let i = 0; i < addresses.length; i++) list.add(addresses[i]!, { addressId: addressIdOf(i), merchantId: MERCHANTS[i % MERCHANTS.length]!, type: 'USER' });
}

/** What the watcher hands the loop for a block (native value and ERC-20 transfer calls of registered tokens). */
function transfersOf(block: RawBlock, tokens: Map<string, string>, networkId: string, nativeId: string): Transfer[] {
  const out: Transfer[] = [];
  const height = Number(block.number);
  for (const tx of block.transactions) {
    if (!tx.to) continue;
    if (tx.value !== '0x0')
      out.push({
        network: networkId,
        txHash: tx.hash,
        index: 0,
        from: tx.from,
        to: tx.to,
        coinId: nativeId,
        amount: BigInt(tx.value),
        blockHeight: height,
        blockHash: block.hash,
      });
    const coin = tokens.get(tx.to.toLowerCase());
    const input = tx.input ?? '';
    if (coin && input.startsWith(TRANSFER_SELECTOR)) {
      out.push({
        network: networkId,
        txHash: tx.hash,
        index: 1,
        from: tx.from,
        to: `0x${input.slice(34, 74)}`,
        coinId: coin,
        amount: BigInt(`0x${input.slice(74, 138)}`),
        blockHeight: height,
        blockHash: block.hash,
      });
    }
  }
  return out;
}

function matchingBench(log: (l: string) => void, budgetMs: number): BenchResult {
  const network = getNetwork('ethereum', {});
  const text = readFileSync(BLOCK_FILE, 'utf8');
  const block = JSON.parse(text) as RawBlock;
  const tokens = new Map(network.coins.filter((c) => c.contract).map((c) => [c.contract!.toLowerCase(), c.id]));
  // Half the block's recipients are ours, among a million others.
  const recipients = [...new Set(transfersOf(block, tokens, network.id, network.nativeCoin.id).map((t) => t.to.toLowerCase()))];
  const addresses = randomAddresses(WATCHED - Math.ceil(recipients.length / 2));
  for (let i = 0; i < recipients.length; i += 2) addresses.push(recipients[i]!);
  const t0 = performance.now();
  const list = new WatchList(network);
  fillWatchList(list, addresses);
  log(`watch list of ${list.size} addresses built in ${Math.round(performance.now() - t0)} ms`);
  const set = new Set(addresses);

  let oursMatched = 0;
  let bareMatched = 0;
  const ours = () => {
    const b = JSON.parse(text) as RawBlock;
    const n = matchTransfers(network, list, transfersOf(b, tokens, network.id, network.nativeCoin.id), Number(b.number)).length;
    oursMatched = n;
    return n;
  };
  const bare = () => {
    const b = JSON.parse(text) as RawBlock;
    let n = 0;
    for (const tx of b.transactions) {
      if (!tx.to) continue;
      if (tx.value !== '0x0' && set.has(tx.to.toLowerCase())) n++;
      const input = tx.input ?? '';
      if (tokens.has(tx.to.toLowerCase()) && input.startsWith(TRANSFER_SELECTOR) && set.has(`0x${input.slice(34, 74)}`)) n++;
    }
    bareMatched = n;
    return n;
  };
  const [oursRate, bareRate] = race(ours, bare, budgetMs);
  if (oursMatched !== bareMatched) throw new Error(`matching disagrees: tracker ${oursMatched}, bare loop ${bareMatched}`);
  return {
    name: 'transfers matched/s, 1M watched (vs JSON.parse+Set)',
    ratio: oursRate / bareRate,
    goal: 0.7,
    detail: `${Math.round(oursRate)} vs ${Math.round(bareRate)} matched/s (${oursMatched} of ${transfersOf(block, tokens, network.id, network.nativeCoin.id).length} transfers per block)`,
  };
}

/** Runs in a child process: builds the watch list and reports resident memory. */
function memoryProbe(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const before = process.memoryUsage().rss;
  const list = new WatchList(getNetwork('ethereum', {}));
  // Generated in slices so the generator's own garbage does not count as the list's.
  for (let done = 0; done < WATCHED; done += 100_000) {
    const chunk = randomAddresses(100_000);
    for (let i = 0; i < chunk.length; i++)
      list.add(chunk[i]!, { addressId: addressIdOf(done + i), merchantId: MERCHANTS[(done + i) % MERCHANTS.length]!, type: 'USER' });
  }
  gc?.();
  const after = process.memoryUsage().rss;
  process.stdout.write(JSON.stringify({ before, after, size: list.size, heap: process.memoryUsage().heapUsed }));
}

function memoryBench(): BenchResult {
  const out = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', __filename, '--memory-probe'], {
    cwd: path.join(__dirname, '../..'),
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  const { before, after, size, heap } = JSON.parse(out.trim().split('\n').pop()!) as { before: number; after: number; size: number; heap: number };
  const mb = (n: number) => n / 1024 / 1024;
  return {
    name: 'resident memory, 1M watched addresses',
    ratio: 300 / mb(after),
    goal: 1,
    detail: `${mb(after).toFixed(0)} MB RSS (${mb(before).toFixed(0)} MB before the list, heap ${mb(heap).toFixed(0)} MB, ${size} addresses); goal <= 300 MB`,
  };
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

async function latencyBench(log: (l: string) => void, blocks: number, pollMs: number): Promise<BenchResult[]> {
  const env = await createTestEnv();
  const anvil = await startAnvil({ port: 0 });
  const network = getNetwork('dev-evm', { DEV_EVM_RPC_URL: anvil.rpcUrl });
  const rpc = createRpcPool(network.rpc);
  const tracker = await startTrackerWorker(env.workerConfig(), {
    log: env.log,
    networks: [network],
    leaseTtlMs: false,
    watcherFor: (n) => new EvmWatcher(n, createRpcPool(n.rpc), { pollIntervalMs: pollMs }),
    scanner: { pollIntervalMs: pollMs },
  });
  const bus = await Bus.connect({ url: env.natsUrl, namespace: env.namespace, name: 'bench', log: env.log });
  const provider = new JsonRpcProvider(anvil.rpcUrl, 31337, { staticNetwork: true, pollingInterval: pollMs });
  try {
    const to = Wallet.createRandom().address;
    await bus.publish(
      'address.created',
      { addressId: addressIdOf(1), merchantId: MERCHANTS[0]!, address: to, type: 'USER', networks: ['dev-evm'], coins: [] },
      { id: addressIdOf(2), key: addressIdOf(1) },
    );
    await eventually(async () => tracker.watchLists.lists.get('dev-evm')!.get(to), 'watched', 20_000);

    const seenAt = new Map<string, number>();
    const sub = bus.nc.subscribe(bus.namespaced('chain.dev-evm.transfer.seen.>'), {
      callback: (_err, msg) => {
        const env = JSON.parse(new TextDecoder().decode(msg.data)) as { data: { txHash: string } };
        seenAt.set(env.data.txHash.toLowerCase(), performance.now());
      },
    });
    const blockAt = new Map<number, number>();
    await provider.on('block', (n: number) => {
      if (!blockAt.has(n)) blockAt.set(n, performance.now());
    });
    // ethers only records the height at its first poll: mine until it reports a block, so
    // every measured block comes after its listener is live.
    await eventually(
      async () => {
        await rpc.call('evm_mine');
        return blockAt.size > 0;
      },
      'ethers listener live',
      20_000,
      pollMs,
    );
    const faucet = new Wallet(Buffer.from(anvilAccount(0).privateKey).toString('hex'));
    let nonce = Number(await rpc.call<string>('eth_getTransactionCount', [faucet.address, 'pending']));
    const ours: number[] = [];
    const bare: number[] = [];
    for (let i = 0; i < blocks; i++) {
      const raw = await faucet.signTransaction({
        type: 2,
        chainId: 31337,
        nonce: nonce++,
        to,
        value: 10n ** 12n,
        gasLimit: 21_000,
        maxFeePerGas: 10n ** 10n,
        maxPriorityFeePerGas: 10n ** 9n,
      });
      // Anvil mines the transaction's block before it answers.
      const hash = (await rpc.call<string>('eth_sendRawTransaction', [raw])).toLowerCase();
      const minedAt = performance.now();
      const height = Number(await rpc.call<string>('eth_blockNumber'));
      await eventually(async () => seenAt.has(hash) && blockAt.has(height), `block ${height} noticed by both`, 30_000, 2);
      ours.push(seenAt.get(hash)! - minedAt);
      bare.push(blockAt.get(height)! - minedAt);
      // Spread block times over the polling phase, so neither side is lucky with its timer.
      await new Promise((r) => setTimeout(r, Math.random() * pollMs));
    }
    sub.unsubscribe();
    const [o50, o99, b50, b99] = [percentile(ours, 50), percentile(ours, 99), percentile(bare, 50), percentile(bare, 99)];
    log(
      `latency over ${blocks} blocks, both polling every ${pollMs} ms: tracker p50 ${o50.toFixed(0)} ms p99 ${o99.toFixed(0)} ms; bare ethers listener p50 ${b50.toFixed(0)} ms p99 ${b99.toFixed(0)} ms`,
    );
    return [
      {
        name: 'block mined -> seen published, p50 (bare/ours)',
        ratio: b50 / o50,
        goal: 0.67,
        detail: `${o50.toFixed(0)} ms vs bare listener ${b50.toFixed(0)} ms`,
      },
      {
        name: 'block mined -> seen published, p99 (bare/ours)',
        ratio: b99 / o99,
        goal: 0.67,
        detail: `${o99.toFixed(0)} ms vs bare listener ${b99.toFixed(0)} ms`,
      },
    ];
  } finally {
    provider.destroy();
    await bus.close();
    await tracker.stop();
    await anvil.stop();
    await env.cleanup();
  }
}

export async function run(log: (line: string) => void): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  results.push(matchingBench(log, 3000));
  log(`${results[0]!.name}: ${results[0]!.detail}`);
  results.push(memoryBench());
  log(`${results[1]!.name}: ${results[1]!.detail}`);
  results.push(...(await latencyBench(log, 200, 250)));
  return results;
}

if (process.argv.includes('--memory-probe')) {
  memoryProbe();
} else if (require.main === module) {
  run((l) => console.log(l)).then(
    (rows) => {
      for (const r of rows) console.log(`${r.name.padEnd(56)} ${r.ratio.toFixed(2).padStart(6)}  goal ${r.goal}  ${r.detail}`);
      process.exit(0);
    },
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
