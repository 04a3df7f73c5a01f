// Withdrawals on the dev EVM chain (anvil) with the real signer worker, Postgres and NATS: we
// publish withdrawal.batch.ready as the withdrawal subgraph would, fund HOT wallets with the dev
// faucet, and assert on the chain and on withdrawal.batch.updated. One ETH and one USDT payout,
// 20 USDT payouts in one BatchTransfer transaction, an empty wallet waiting for funds, a repeated
// batch.ready, a worker killed with SIGKILL between storing and broadcasting, and no key in the
// clear in the database or any log line.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import path from 'node:path';
import { AbiCoder, Wallet, keccak256 } from 'ethers';
import type { Bus } from '@cpg/core/bus';
import { DEV_EVM_USDT_ADDRESS, getNetwork, type NetworkConfig } from '@cpg/chains';
import { TEST_REVERTER } from '@cpg/chains/evm/contracts';
import { type AnvilHandle, EvmDevControls, anvilAccount, deployDevUsdt, startAnvil } from '@cpg/devkit/chains/evm/dev';
import { ERC20, EvmSigner, waitForReceipt } from '@cpg/chains/evm/signer';
import type { RawReceipt } from '@cpg/chains/evm/raw';
import { createRpcPool, type RpcPool } from '@cpg/chains/rpc';
import { createTestEnv, eventually, type TestEnv } from '@cpg/devkit/testing';
import { exitOf, forgetChild, rememberChild } from '@cpg/devkit/services/child-processes';
import { type RunningSigner, type SignerStartConfig, startSignerWorker } from '../src/worker';
import { BatchEvents, book, capturingLogger, hotAddress, items, publishForged, publishReady, testClient } from './withdrawal-helpers';

jest.setTimeout(120_000);

const ROOT = path.resolve(__dirname, '../../..');
const KEK = randomBytes(32).toString('hex');
const ETH = 10n ** 18n;
const USDT = 10n ** 6n;
const TRANSFER_TOPIC = '0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef';

let env: TestEnv;
let anvil: AnvilHandle;
let rpc: RpcPool;
let network: NetworkConfig;
let dev: EvmDevControls;
let config: SignerStartConfig;
let worker: RunningSigner | undefined;
let client: Bus;
let events: BatchEvents;
const captured = capturingLogger();
const childOutput: string[] = [];
const children = new Set<ChildProcess>();
const merchants: string[] = [];

async function sql<T = Record<string, unknown>>(query: string, params: unknown[] = []): Promise<T[]> {
  return worker!.orm.em.fork().getConnection().execute(query, params);
}

const ethBalance = async (a: string) => BigInt(await rpc.call<string>('eth_getBalance', [a, 'latest']));
const usdtBalance = async (a: string) =>
  BigInt(await rpc.call<string>('eth_call', [{ to: DEV_EVM_USDT_ADDRESS, data: ERC20.encodeFunctionData('balanceOf', [a]) }, 'latest']));
const nonceOf = async (a: string) => Number(await rpc.call<string>('eth_getTransactionCount', [a, 'latest']));
const receipt = (h: string) => rpc.call<RawReceipt>('eth_getTransactionReceipt', [h]);
const fresh = () => Wallet.createRandom().address;

async function newMerchant(): Promise<{ merchantId: string; hot: string }> {
  const merchantId = randomUUID();
  merchants.push(merchantId);
  return { merchantId, hot: (await hotAddress(client, merchantId, 'dev-evm')).address };
}

async function startWorker(): Promise<RunningSigner> {
  worker = await startSignerWorker(config, captured.log, { networks: [network] });
  return worker;
}

beforeAll(async () => {
  env = await createTestEnv();
  anvil = await startAnvil({ port: 0 });
  await deployDevUsdt(anvil.rpcUrl);
  process.env.DEV_EVM_RPC_URL = anvil.rpcUrl;
  network = getNetwork('dev-evm');
  rpc = createRpcPool(network.rpc);
  dev = new EvmDevControls(network, rpc);
  config = {
    ...env.workerConfig(),
    KEY_ENCRYPTION_KEY: KEK,
    KEY_ENCRYPTION_KEY_ID: 1,
    WITHDRAWAL_POLL_MS: 150,
    WITHDRAWAL_FUNDS_RETRY_MS: 400,
    // anvil mines each transaction at once, so only the stuck-transaction test ever waits this long.
    WITHDRAWAL_BUMP_AFTER_SECONDS: 1,
  };
  await startWorker();
  client = await testClient(env);
  // Plays the withdrawal subgraph's confirmation of the batches this file publishes.
  book.serve(client);
  events = new BatchEvents(client);
  await events.start();
});

afterAll(async () => {
  for (const c of children) {
    if (c.pid) process.kill(c.pid, 'SIGKILL');
    forgetChild(c.pid);
  }
  await events?.stop();
  await client?.close();
  await worker?.stop();
  await rpc?.close();
  await anvil?.stop();
  await env?.cleanup();
});

describe('single withdrawals', () => {
  it('pays one ETH withdrawal from the merchant HOT wallet: SIGNING, BROADCAST, CONFIRMED with the gas paid', async () => {
    const { merchantId, hot } = await newMerchant();
    await dev.fund(hot, 'dev-evm:ETH', 2n * ETH);
    const to = fresh();
    const batchId = randomUUID();
    await publishReady(client, { batchId, merchantId, network: 'dev-evm', coinId: 'dev-evm:ETH', items: items([to], () => ETH / 10n) });
    const done = await events.wait(batchId, 'CONFIRMED');
    expect(events.statuses(batchId)).toEqual(['SIGNING', 'BROADCAST', 'CONFIRMED']);
    expect(await ethBalance(to)).toBe(ETH / 10n);
    const r = await receipt(done.txHash!);
    expect(r.status).toBe('0x1');
    expect(r.from.toLowerCase()).toBe(hot.toLowerCase());
    const fee = BigInt(r.gasUsed) * BigInt(r.effectiveGasPrice!);
    expect(done).toMatchObject({ merchantId, network: 'dev-evm', coinId: 'dev-evm:ETH', fee: fee.toString(), feeCoinId: 'dev-evm:ETH', reason: null });
    expect(done.confirmations).toBeGreaterThanOrEqual(1);
    expect(await ethBalance(hot)).toBe(2n * ETH - ETH / 10n - fee);
  });

  it('pays one USDT withdrawal with a plain ERC-20 transfer; the fee is in ETH', async () => {
    const { merchantId, hot } = await newMerchant();
    await dev.fund(hot, 'dev-evm:USDT', 100n * USDT);
    await dev.fund(hot, 'dev-evm:ETH', ETH / 10n);
    const to = fresh();
    const batchId = randomUUID();
    await publishReady(client, { batchId, merchantId, network: 'dev-evm', coinId: 'dev-evm:USDT', items: items([to], () => 12_500_000n) });
    const done = await events.wait(batchId, 'CONFIRMED');
    expect(await usdtBalance(to)).toBe(12_500_000n);
    expect(await usdtBalance(hot)).toBe(100n * USDT - 12_500_000n);
    const r = await receipt(done.txHash!);
    expect(r.to!.toLowerCase()).toBe(DEV_EVM_USDT_ADDRESS.toLowerCase());
    expect(done.fee).toBe((BigInt(r.gasUsed) * BigInt(r.effectiveGasPrice!)).toString());
    expect(done.feeCoinId).toBe('dev-evm:ETH');
  });
});

describe('batches', () => {
  it('sends 20 USDT payouts as one BatchTransfer transaction (approving the contract once)', async () => {
    const { merchantId, hot } = await newMerchant();
    await dev.fund(hot, 'dev-evm:USDT', 1_000n * USDT);
    await dev.fund(hot, 'dev-evm:ETH', ETH);
    const tos = Array.from({ length: 20 }, fresh);
    const batchId = randomUUID();
    await publishReady(client, { batchId, merchantId, network: 'dev-evm', coinId: 'dev-evm:USDT', items: items(tos, (i) => BigInt(i + 1) * USDT) });
    const done = await events.wait(batchId, 'CONFIRMED');
    for (const [i, to] of tos.entries()) expect(await usdtBalance(to)).toBe(BigInt(i + 1) * USDT);
    const [contract] = await sql<{ address: string }>(`select address from signer.evm_contracts where network_id = 'dev-evm' and kind = 'BatchTransfer'`);
    const r = await receipt(done.txHash!);
    expect(r.to!.toLowerCase()).toBe(contract!.address.toLowerCase());
    expect(r.logs.filter((l) => l.topics[0] === TRANSFER_TOPIC)).toHaveLength(20);
    // One approval and one payout: two transactions from the HOT wallet, nothing else.
    expect(await nonceOf(hot)).toBe(2);
    const txs = await sql<{ kind: string; tx_hash: string; fee_paid: string }>(
      `select kind, tx_hash, fee_paid::text from signer.withdrawal_txs where batch_id = ? order by kind`,
      [batchId],
    );
    expect(txs.map((t) => t.kind)).toEqual(['APPROVAL', 'PAYOUT']);
    const approval = await receipt(txs[0]!.tx_hash);
    const paid = BigInt(r.gasUsed) * BigInt(r.effectiveGasPrice!) + BigInt(approval.gasUsed) * BigInt(approval.effectiveGasPrice!);
    // The approval was paid from this merchant's HOT wallet, so it is charged to this batch.
    expect(done.fee).toBe(paid.toString());

    // A second batch of the same wallet needs no new approval.
    const batch2 = randomUUID();
    const tos2 = Array.from({ length: 3 }, fresh);
    await publishReady(client, { batchId: batch2, merchantId, network: 'dev-evm', coinId: 'dev-evm:USDT', items: items(tos2, () => USDT) });
    await events.wait(batch2, 'CONFIRMED');
    expect(await nonceOf(hot)).toBe(3);
    for (const to of tos2) expect(await usdtBalance(to)).toBe(USDT);
  });

  it('sends several ETH payouts as one batchSend transaction', async () => {
    const { merchantId, hot } = await newMerchant();
    await dev.fund(hot, 'dev-evm:ETH', ETH);
    const tos = Array.from({ length: 5 }, fresh);
    const batchId = randomUUID();
    await publishReady(client, { batchId, merchantId, network: 'dev-evm', coinId: 'dev-evm:ETH', items: items(tos, () => ETH / 100n) });
    await events.wait(batchId, 'CONFIRMED');
    for (const to of tos) expect(await ethBalance(to)).toBe(ETH / 100n);
    expect(await nonceOf(hot)).toBe(1);
  });
});

describe('funds', () => {
  it('waits with a clear reason while the HOT wallet is empty, and pays once it is funded; another merchant’s funds never help', async () => {
    const rich = await newMerchant();
    await dev.fund(rich.hot, 'dev-evm:USDT', 500n * USDT);
    await dev.fund(rich.hot, 'dev-evm:ETH', ETH);
    const { merchantId, hot } = await newMerchant();
    expect(hot).not.toBe(rich.hot);
    const to = fresh();
    const batchId = randomUUID();
    await publishReady(client, { batchId, merchantId, network: 'dev-evm', coinId: 'dev-evm:USDT', items: items([to], () => 50n * USDT) });
    const waiting = await events.wait(batchId, 'WAITING_FUNDS');
    expect(waiting.reason).toContain(`HOT wallet ${hot} has 0 of the 50000000 base units of dev-evm:USDT`);
    expect(waiting.reason).toMatch(/needed for gas/);
    // What is missing in whole coins, and where to send it.
    expect(waiting.reason).toMatch(new RegExp(`; short by 50 USDT to pay and [0-9.]+ ETH for gas: send that to the HOT wallet ${hot}$`));
    // Retried periodically, but the same reason is announced once.
    await new Promise((r) => setTimeout(r, 1500));
    expect(events.statuses(batchId)).toEqual(['WAITING_FUNDS']);
    expect(await usdtBalance(rich.hot)).toBe(500n * USDT);

    await dev.fund(hot, 'dev-evm:USDT', 60n * USDT);
    const stillShort = await events.wait(batchId, 'WAITING_FUNDS', 30_000, (e) => !/dev-evm:USDT it pays/.test(e.reason ?? ''));
    expect(stillShort.reason).toMatch(
      new RegExp(
        `^HOT wallet ${hot} has 0 of the \\d+ base units of dev-evm:ETH needed for gas; short by [0-9.]+ ETH for gas: send that to the HOT wallet ${hot}$`,
      ),
    );
    await dev.fund(hot, 'dev-evm:ETH', ETH / 10n);
    await events.wait(batchId, 'CONFIRMED');
    expect(await usdtBalance(to)).toBe(50n * USDT);
    expect(await usdtBalance(rich.hot)).toBe(500n * USDT);
  });

  it('fails a batch it can never pay (a bad address) without signing anything', async () => {
    const { merchantId } = await newMerchant();
    const batchId = randomUUID();
    await publishReady(client, { batchId, merchantId, network: 'dev-evm', coinId: 'dev-evm:ETH', items: items(['0x1234'], () => 1n) });
    const failed = await events.wait(batchId, 'FAILED');
    expect(failed.reason).toMatch(/is not an address/);
    expect(failed.fee).toBeNull();
    expect(await sql('select 1 from signer.withdrawal_txs where batch_id = ?', [batchId])).toHaveLength(0);
  });

  it('fails a payout the node refuses in simulation (a recipient contract that reverts) without signing it', async () => {
    const deployer = new EvmSigner(network, rpc);
    const { tx, address: reverter } = await deployer.signDeployment(anvilAccount(3), TEST_REVERTER.bytecode);
    await deployer.broadcast(tx);
    await waitForReceipt(rpc, tx.txHash);
    const { merchantId, hot } = await newMerchant();
    await dev.fund(hot, 'dev-evm:ETH', ETH);
    const batchId = randomUUID();
    await publishReady(client, { batchId, merchantId, network: 'dev-evm', coinId: 'dev-evm:ETH', items: items([reverter], () => ETH / 10n) });
    const failed = await events.wait(batchId, 'FAILED');
    expect(failed.reason).toMatch(/cannot sign the payout: .*rejects this transaction in simulation/);
    expect(failed.fee).toBeNull();
    expect(events.statuses(batchId)).toEqual(['FAILED']);
    expect(await nonceOf(hot)).toBe(0);
    expect(await ethBalance(hot)).toBe(ETH);
  });
});

describe('stuck transactions', () => {
  it('are fee-bumped with the same nonce; only one version is ever mined', async () => {
    const { merchantId, hot } = await newMerchant();
    await dev.fund(hot, 'dev-evm:ETH', ETH);
    const to = fresh();
    const batchId = randomUUID();
    await rpc.call('evm_setAutomine', [false]);
    try {
      await publishReady(client, { batchId, merchantId, network: 'dev-evm', coinId: 'dev-evm:ETH', items: items([to], () => ETH / 3n) });
      const first = await events.wait(batchId, 'BROADCAST');
      const bumped = await events.wait(batchId, 'BROADCAST', 30_000, (e) => e.txHash !== first.txHash);
      const [a, b] = await Promise.all(
        [first.txHash!, bumped.txHash!].map((h) => rpc.call<{ nonce: string; maxFeePerGas: string } | null>('eth_getTransactionByHash', [h])),
      );
      expect(a).toBeNull(); // replaced in the pool
      expect(Number(b!.nonce)).toBe(0);
      await dev.mine(1);
    } finally {
      await rpc.call('evm_setAutomine', [true]);
    }
    const done = await events.wait(batchId, 'CONFIRMED');
    const txs = await sql<{ tx_hash: string; nonce: string; status: string }>(
      `select tx_hash, nonce::text, status from signer.withdrawal_txs where batch_id = ? order by seq`,
      [batchId],
    );
    expect(txs.length).toBeGreaterThanOrEqual(2);
    expect(new Set(txs.map((t) => t.nonce))).toEqual(new Set(['0']));
    expect(txs[txs.length - 1]!.tx_hash).toBe(done.txHash);
    expect(txs.filter((t) => t.status === 'CONFIRMED')).toHaveLength(1);
    expect(await nonceOf(hot)).toBe(1);
    expect(await ethBalance(to)).toBe(ETH / 3n);
    const r = await receipt(done.txHash!);
    expect(done.fee).toBe((BigInt(r.gasUsed) * BigInt(r.effectiveGasPrice!)).toString());
  });
});

describe('reverted transactions', () => {
  it('report FAILED with the gas the reverted transaction spent, so the ledger can charge it', async () => {
    const { merchantId, hot } = await newMerchant();
    await dev.fund(hot, 'dev-evm:USDT', 10n * USDT);
    await dev.fund(hot, 'dev-evm:ETH', ETH / 10n);
    const batchId = randomUUID();
    await rpc.call('evm_setAutomine', [false]);
    try {
      await publishReady(client, { batchId, merchantId, network: 'dev-evm', coinId: 'dev-evm:USDT', items: items([fresh()], () => 5n * USDT) });
      await events.wait(batchId, 'BROADCAST');
      // The HOT wallet's token balance vanishes before the block: the simulated transfer now reverts.
      const slot = keccak256(AbiCoder.defaultAbiCoder().encode(['address', 'uint256'], [hot, 1]));
      await rpc.call('anvil_setStorageAt', [DEV_EVM_USDT_ADDRESS, slot, `0x${'0'.repeat(64)}`]);
      await dev.mine(1);
    } finally {
      await rpc.call('evm_setAutomine', [true]);
    }
    const failed = await events.wait(batchId, 'FAILED');
    const r = await receipt(failed.txHash!);
    expect(r.status).toBe('0x0');
    expect(failed.reason).toMatch(/reverted on chain/);
    expect(failed.fee).toBe((BigInt(r.gasUsed) * BigInt(r.effectiveGasPrice!)).toString());
    expect(failed.feeCoinId).toBe('dev-evm:ETH');
  });
});

describe('idempotency and crashes', () => {
  it('makes one transaction when the same batch.ready is delivered several times', async () => {
    const { merchantId, hot } = await newMerchant();
    await dev.fund(hot, 'dev-evm:ETH', ETH);
    const to = fresh();
    const batch = { batchId: randomUUID(), merchantId, network: 'dev-evm', coinId: 'dev-evm:ETH', items: items([to], () => ETH / 4n) };
    const messageId = randomUUID();
    await Promise.all([publishReady(client, batch, messageId), publishReady(client, batch), publishReady(client, batch)]);
    await events.wait(batch.batchId, 'CONFIRMED');
    await publishReady(client, batch);
    await new Promise((r) => setTimeout(r, 1000));
    expect(events.statuses(batch.batchId)).toEqual(['SIGNING', 'BROADCAST', 'CONFIRMED']);
    expect(await ethBalance(to)).toBe(ETH / 4n);
    expect(await nonceOf(hot)).toBe(1);
    expect(await sql('select 1 from signer.withdrawal_txs where batch_id = ?', [batch.batchId])).toHaveLength(1);
  });

  it('a signer killed with SIGKILL after storing the signed transaction broadcasts those same bytes after restart: one spend', async () => {
    const { merchantId, hot } = await newMerchant();
    await dev.fund(hot, 'dev-evm:ETH', ETH);
    const to = fresh();
    const batchId = randomUUID();

    await worker!.stop();
    worker = undefined;
    const child = spawn(process.execPath, ['--import', 'tsx', 'workers/signer/src/index.ts'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        NODE_ENV: 'test',
        PORT: '0',
        DATABASE_URL: env.databaseUrl,
        NATS_URL: env.natsUrl,
        NATS_NAMESPACE: env.namespace,
        LOG_LEVEL: 'debug',
        KEY_ENCRYPTION_KEY: KEK,
        DEV_EVM_RPC_URL: anvil.rpcUrl,
        DEV_LTC_RPC_URL: 'http://127.0.0.1:1',
        WITHDRAWAL_POLL_MS: '150',
        SIGNER_TEST_KILL_AFTER_SIGN: '1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    rememberChild(child.pid, 'SIGKILL');
    children.add(child);
    const keep = (b: Buffer) => childOutput.push(b.toString());
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    const exited = exitOf(child);
    await eventually(async () => /signer worker running/.test(childOutput.join('')), 'child signer up', 30_000);

    await publishReady(client, { batchId, merchantId, network: 'dev-evm', coinId: 'dev-evm:ETH', items: items([to], () => ETH / 2n) });
    const exit = await exited;
    children.delete(child);
    forgetChild(child.pid);
    expect(exit.signal).toBe('SIGKILL');

    await startWorker();
    // Stored, with its SIGNING event, but never sent.
    const [stored] = await sql<{ tx_hash: string; raw: string; status: string }>(`select tx_hash, raw, status from signer.withdrawal_txs where batch_id = ?`, [
      batchId,
    ]);
    expect(stored).toBeDefined();
    const done = await events.wait(batchId, 'CONFIRMED');
    expect(done.txHash).toBe(stored!.tx_hash);
    expect(events.statuses(batchId)).toEqual(['SIGNING', 'BROADCAST', 'CONFIRMED']);
    const onChain = await rpc.call<{ hash: string }>('eth_getTransactionByHash', [stored!.tx_hash]);
    expect(onChain.hash).toBe(stored!.tx_hash);
    const raw = await rpc.call<string>('eth_getRawTransactionByHash', [stored!.tx_hash]).catch(() => null);
    if (raw) expect(raw).toBe(stored!.raw);
    expect(await nonceOf(hot)).toBe(1);
    expect(await ethBalance(to)).toBe(ETH / 2n);
    expect(await sql('select 1 from signer.withdrawal_txs where batch_id = ?', [batchId])).toHaveLength(1);
  });
});

/** A counter of the signer's /readyz (counters are per process; the tests compare before and after). */
async function signerCounter(name: string): Promise<number> {
  const body = (await (await fetch(`http://127.0.0.1:${worker!.port}/readyz`)).json()) as { counters: Record<string, number> };
  return body.counters[name] ?? 0;
}

describe('batches the withdrawal subgraph does not confirm', () => {
  const asked = (batchId: string) => book.asked.filter((a) => a.batchId === batchId);

  it('a forged batch.ready for a batch the withdrawal subgraph does not know is refused once: nothing stored, signed or paid', async () => {
    const { merchantId, hot } = await newMerchant();
    await dev.fund(hot, 'dev-evm:ETH', ETH);
    const before = await signerCounter('signer.withdrawal_batch.refused');
    const to = fresh();
    const batchId = randomUUID();
    await publishForged(client, { batchId, merchantId, network: 'dev-evm', coinId: 'dev-evm:ETH', items: items([to], () => ETH / 2n) });
    await eventually(async () => asked(batchId).length > 0, 'the signer asked the withdrawal subgraph');
    expect(asked(batchId)[0]).toEqual({ batchId, ok: false, reason: 'no such batch' });
    await eventually(async () => (await signerCounter('signer.withdrawal_batch.refused')) === before + 1, 'the refusal counted');
    // Terminated, not retried: a nak would come back within a second.
    await new Promise((r) => setTimeout(r, 2500));
    expect(asked(batchId)).toHaveLength(1);
    expect(await sql('select 1 from signer.withdrawal_batches where batch_id = ?', [batchId])).toHaveLength(0);
    expect(await sql('select 1 from signer.withdrawal_txs where batch_id = ?', [batchId])).toHaveLength(0);
    expect(events.statuses(batchId)).toEqual([]);
    expect(await ethBalance(to)).toBe(0n);
    expect(await nonceOf(hot)).toBe(0);
    expect(captured.text()).toContain('withdrawal batch refused');
  });

  it('copies of a real batch with an altered amount or destination are refused; the real one is then paid exactly', async () => {
    const { merchantId, hot } = await newMerchant();
    await dev.fund(hot, 'dev-evm:ETH', ETH);
    const to = fresh();
    const thief = fresh();
    const real = { batchId: randomUUID(), merchantId, network: 'dev-evm', coinId: 'dev-evm:ETH', items: items([to], () => ETH / 10n) };
    // The withdrawal subgraph has made the batch; its message has not gone out yet.
    book.record(real);
    await publishForged(client, { ...real, items: [{ ...real.items[0]!, amount: (ETH / 2n).toString() }] });
    await publishForged(client, { ...real, items: [{ ...real.items[0]!, toAddress: thief }] });
    await publishForged(client, { ...real, merchantId: randomUUID() });
    await eventually(async () => asked(real.batchId).length === 3, 'three refusals');
    expect(asked(real.batchId).map((a) => [a.ok, a.reason])).toEqual([
      [false, `withdrawal ${real.items[0]!.withdrawalId} has another amount`],
      [false, `withdrawal ${real.items[0]!.withdrawalId} goes to another address`],
      [false, 'the batch belongs to another merchant'],
    ]);
    expect(await sql('select 1 from signer.withdrawal_batches where batch_id = ?', [real.batchId])).toHaveLength(0);
    await publishReady(client, real);
    await events.wait(real.batchId, 'CONFIRMED');
    expect(await ethBalance(to)).toBe(ETH / 10n);
    expect(await ethBalance(thief)).toBe(0n);
    expect(await nonceOf(hot)).toBe(1);
    // Once stored, an altered copy is refused without asking (it differs from what is stored).
    await publishForged(client, { ...real, items: [{ ...real.items[0]!, toAddress: thief }] });
    await new Promise((r) => setTimeout(r, 1000));
    expect(await ethBalance(thief)).toBe(0n);
    expect(events.statuses(real.batchId)).toEqual(['SIGNING', 'BROADCAST', 'CONFIRMED']);
  });

  it('a withdrawal subgraph that does not answer only delays a batch: nothing is stored meanwhile, and it is paid once it answers', async () => {
    const { merchantId, hot } = await newMerchant();
    await dev.fund(hot, 'dev-evm:ETH', ETH);
    const to = fresh();
    const batch = { batchId: randomUUID(), merchantId, network: 'dev-evm', coinId: 'dev-evm:ETH', items: items([to], () => ETH / 5n) };
    book.pause();
    try {
      await publishReady(client, batch);
      // Past the signer's verify timeout (5 s): the message was given back, not dropped.
      await eventually(async () => captured.text().includes(`withdrawal.verify_batch did not answer for batch ${batch.batchId}`), 'a timed out verify', 15_000);
      expect(await sql('select 1 from signer.withdrawal_batches where batch_id = ?', [batch.batchId])).toHaveLength(0);
      expect(events.statuses(batch.batchId)).toEqual([]);
    } finally {
      book.resume();
    }
    await events.wait(batch.batchId, 'CONFIRMED', 60_000);
    expect(await ethBalance(to)).toBe(ETH / 5n);
    expect(await nonceOf(hot)).toBe(1);
  });
});

describe('secrets', () => {
  it('keeps no HOT key in the clear in the database, and no log line of the run holds one', async () => {
    const dump = await sql<{ line: string }>(`select t::text as line from signer.keys t union all select h::text from signer.hot_wallets h
      union all select w::text from signer.withdrawal_txs w union all select b::text from signer.withdrawal_batches b`);
    const text = dump
      .map((r) => r.line)
      .join('\n')
      .toLowerCase();
    const raw = Buffer.concat((await sql<{ sealed: Buffer }>('select sealed from signer.keys')).map((r) => r.sealed));
    const logs = (captured.text() + childOutput.join('')).toLowerCase();
    expect(logs).toMatch(/withdrawal transaction final/);
    expect(merchants.length).toBeGreaterThan(5);
    for (const merchantId of merchants) {
      const wallet = await worker!.hotWallets.find(merchantId, 'dev-evm');
      const key = Buffer.from((await worker!.keys.privateKeyForKey(wallet!.keyId)).privateKey);
      const hex = key.toString('hex');
      expect(raw.includes(key)).toBe(false);
      expect(text).not.toContain(hex);
      expect(logs).not.toContain(hex);
      expect(logs).not.toContain(key.toString('base64').toLowerCase());
    }
  });
});
