import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { Wallet } from 'ethers';
import { anvilAccount, deployDevUsdt, startAnvil, type AnvilHandle } from '@cpg/devkit/chains/evm/dev';
import { ERC20 } from '@cpg/chains/evm/signer';
import { DEV_EVM_USDT_ADDRESS } from '@cpg/chains';
import { createRpcPool, type RpcPool } from '@cpg/chains/rpc';
import type { Bus } from '@cpg/core/bus';
import { exitOf, forgetChild, rememberChild } from '@cpg/devkit/services/child-processes';
import { withPg } from '@cpg/devkit/services';
import { createTestEnv, eventually, type TestEnv } from '@cpg/devkit/testing';
import { EventLog, register, testBus, type Registered } from './helpers';

// The tracker as a real process, killed with SIGKILL in the middle of a catch-up: the restart
// must resume from its cursor, lose nothing and let no duplicate through to consumers. Then two
// instances: the second stays idle while the first holds the lease, and takes over when it dies.

jest.setTimeout(180_000);

const ROOT = path.resolve(__dirname, '../../..');
const LEASE_TTL_MS = 1500;
const DEPOSIT_BLOCKS = 100;
const PER_BLOCK = 5;
const EMPTY_BLOCKS = 100;

let env: TestEnv;
let anvil: AnvilHandle;
let rpc: RpcPool;
let bus: Bus;
let events: EventLog;
const children = new Set<ChildProcess>();

interface Tracker {
  child: ChildProcess;
  exited: Promise<unknown>;
  output: () => string;
}

function startTracker(): Tracker {
  const child = spawn(process.execPath, ['--import', 'tsx', 'workers/tracker/src/index.ts'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_ENV: 'test',
      PORT: '0',
      DATABASE_URL: env.databaseUrl,
      NATS_URL: env.natsUrl,
      NATS_NAMESPACE: env.namespace,
      LOG_LEVEL: 'info',
      DEV_CHAINS: '1',
      DEV_EVM_RPC_URL: anvil.rpcUrl,
      DEV_CONFIRMATIONS: '1',
      TRACKER_NETWORKS: 'dev-evm',
      TRACKER_LEASE_TTL_MS: String(LEASE_TTL_MS),
      TRACKER_STATUS_INTERVAL_MS: '500',
      TRACKER_BATCH_SIZE: '20',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  rememberChild(child.pid, 'SIGKILL');
  children.add(child);
  let out = '';
  const keep = (b: Buffer) => {
    out = (out + b.toString()).slice(-20_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = exitOf(child).then((x) => {
    children.delete(child);
    forgetChild(child.pid);
    return x;
  });
  return { child, exited, output: () => out };
}

async function kill9(t: Tracker): Promise<void> {
  process.kill(t.child.pid!, 'SIGKILL');
  await t.exited;
}

async function sql<T = Record<string, unknown>>(text: string, params: unknown[] = []): Promise<T[]> {
  return withPg(env.databaseUrl, async (c) => (await c.query(text, params)).rows as T[]);
}

async function cursorHeight(): Promise<number | null> {
  const rows = await sql<{ height: string }>(`select height from tracker.cursors where network = 'dev-evm'`).catch(() => []);
  return rows.length ? Number(rows[0]!.height) : null;
}

async function tip(): Promise<number> {
  return Number(await rpc.call<string>('eth_blockNumber'));
}

async function leaseHolder(): Promise<string | null> {
  const kv = await bus.nc.jetstream().views.kv(`${env.namespace}_tracker_leases`, { ttl: LEASE_TTL_MS, history: 1 });
  const e = await kv.get('dev-evm');
  return e && e.operation === 'PUT' ? e.string() : null;
}

beforeAll(async () => {
  env = await createTestEnv();
  anvil = await startAnvil({ port: 0 });
  await deployDevUsdt(anvil.rpcUrl);
  rpc = createRpcPool([{ url: anvil.rpcUrl }]);
  bus = await testBus(env);
  events = new EventLog(bus);
  await events.start();
});

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await events?.stop();
  await bus?.close();
  await anvil?.stop();
  await env?.cleanup();
});

/** 500 deposits from the faucet, PER_BLOCK per block with automine off, then empty blocks. */
async function buildChain(addresses: Registered[]): Promise<Set<string>> {
  const faucet = new Wallet(Buffer.from(anvilAccount(0).privateKey).toString('hex'));
  let nonce = Number(await rpc.call<string>('eth_getTransactionCount', [faucet.address, 'pending']));
  await rpc.call('evm_setAutomine', [false]);
  const sent = new Set<string>();
  for (let b = 0; b < DEPOSIT_BLOCKS; b++) {
    const raws: string[] = [];
    for (let i = 0; i < PER_BLOCK; i++) {
      const n = b * PER_BLOCK + i;
      const to = addresses[n % addresses.length]!.address;
      const fee = { type: 2, chainId: 31337, nonce: nonce++, maxFeePerGas: 10n ** 10n, maxPriorityFeePerGas: 10n ** 9n };
      raws.push(
        await faucet.signTransaction(
          n % 2 === 0
            ? { ...fee, to, value: 10n ** 15n, gasLimit: 21_000 }
            : { ...fee, to: DEV_EVM_USDT_ADDRESS, data: ERC20.encodeFunctionData('transfer', [to, 1_000_000n + BigInt(n)]), gasLimit: 100_000 },
        ),
      );
    }
    for (const raw of raws) sent.add((await rpc.call<string>('eth_sendRawTransaction', [raw])).toLowerCase());
    await rpc.call('evm_mine');
  }
  await rpc.call('anvil_mine', [`0x${EMPTY_BLOCKS.toString(16)}`]);
  await rpc.call('evm_setAutomine', [true]);
  return sent;
}

describe('tracker process', () => {
  let running: Tracker;

  it('resumes after kill -9 mid catch-up: each of 500 deposits reaches consumers exactly once', async () => {
    const addresses: Registered[] = [];
    for (let i = 0; i < 100; i++) addresses.push(await register(bus, Wallet.createRandom().address, { networks: ['dev-evm'] }));

    // A first run learns the addresses and sets the cursor at the current tip, then dies.
    const first = startTracker();
    await eventually(async () => (await cursorHeight()) !== null, `first tracker's cursor\n${first.output()}`, 30_000);
    await eventually(
      async () => Number((await sql<{ n: string }>('select count(*) n from tracker.watched_addresses'))[0]!.n) === 100,
      'addresses stored',
      30_000,
    );
    const start = (await cursorHeight())!;
    await kill9(first);

    const t0 = Date.now();
    const sent = await buildChain(addresses);
    expect(sent.size).toBe(DEPOSIT_BLOCKS * PER_BLOCK);
    const end = await tip();
    expect(end - start).toBe(DEPOSIT_BLOCKS + EMPTY_BLOCKS);

    // Later runs catch up over the 200 blocks; two of them are killed part way, at different
    // points of a batch (batches are 20 blocks).
    const killedAt: number[] = [];
    for (const at of [start + 40, start + 127]) {
      const run = startTracker();
      await eventually(async () => ((await cursorHeight()) ?? 0) >= at, `catch-up past ${at}\n${run.output()}`, 60_000, 5);
      await kill9(run);
      killedAt.push((await cursorHeight())! - start);
    }
    expect(killedAt[1]!).toBeLessThan(end - start);
    running = startTracker();
    await eventually(async () => (await cursorHeight()) === end, `catch-up finished\n${running.output()}`, 60_000);
    const seenKeys = () => events.transfers.filter((t) => t.kind === 'seen').map((t) => `${t.data.txHash.toLowerCase()}:${t.data.index}`);
    await eventually(async () => new Set(seenKeys()).size >= sent.size, 'every deposit seen', 30_000);
    // Give any straggling duplicate time to arrive before counting.
    await new Promise((r) => setTimeout(r, 1500));
    const keys = seenKeys();
    const counts = new Map<string, number>();
    for (const k of keys) counts.set(k, (counts.get(k) ?? 0) + 1);
    expect(counts.size).toBe(sent.size);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    expect(new Set(keys.map((k) => k.split(':')[0]))).toEqual(sent);
    const confirmed = events.transfers.filter((t) => t.kind === 'confirmed');
    expect(new Set(confirmed.map((t) => `${t.data.txHash}:${t.data.index}`)).size).toBe(sent.size);
    expect(confirmed).toHaveLength(sent.size);
    console.log(`crash test: killed at blocks ${killedAt.join(' and ')} of ${end - start}; whole scenario ${Date.now() - t0} ms`);
  });

  it('keeps a second instance idle while the first holds the lease, and lets it take over when the first dies', async () => {
    const holder = await eventually(async () => leaseHolder(), 'a lease holder');
    expect(holder).toContain(`:${running.child.pid}:`);
    const standby = startTracker();
    await eventually(async () => /watch list loaded/.test(standby.output()), `standby started\n${standby.output()}`, 30_000);
    await new Promise((r) => setTimeout(r, 2 * LEASE_TTL_MS));
    expect(await leaseHolder()).toBe(holder);
    expect(standby.output()).not.toMatch(/lease acquired/);

    await kill9(running);
    await eventually(async () => (await leaseHolder())?.includes(`:${standby.child.pid}:`), `standby took over\n${standby.output()}`, 10 * LEASE_TTL_MS);

    const a = await register(bus, Wallet.createRandom().address, { networks: ['dev-evm'] });
    await eventually(
      async () => Number((await sql<{ n: string }>('select count(*) n from tracker.watched_addresses where address_id = $1', [a.addressId]))[0]!.n) === 1,
      'stored',
    );
    const txHash = await rpc.call<string>('eth_sendTransaction', [{ from: anvilAccount(0).address, to: a.address, value: '0x2386f26fc10000' }]);
    await events.wait('seen', txHash, 'seen by the new holder', 20_000);
    standby.child.kill('SIGKILL');
    await standby.exited;
  });
});
