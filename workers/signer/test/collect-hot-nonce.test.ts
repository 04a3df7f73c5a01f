// A gas top-up signed from a merchant's HOT wallet (signer.collect_sign) while a withdrawal payout
// of the same wallet is stored SIGNED and not broadcast yet, with the real signer worker, anvil,
// Postgres and NATS. Both spend the wallet's nonces: the top-up must take the nonce after the stored
// payout's (not the node's pending count, which does not know the payout yet), so both are mined
// and the batch is paid. The test plays the address subgraph (address.lookup) and the collector
// (collector.verify_step), and holds the processor between storing and broadcasting (afterSign).
import { randomBytes, randomUUID } from 'node:crypto';
import { Transaction, Wallet } from 'ethers';
import type { Bus, RpcRequest } from '@cpg/core/bus';
import { getNetwork, type NetworkConfig } from '@cpg/chains';
import { type AnvilHandle, EvmDevControls, startAnvil } from '@cpg/devkit/chains/evm/dev';
import { waitForReceipt } from '@cpg/chains/evm/signer';
import { createRpcPool, type RpcPool } from '@cpg/chains/rpc';
import { createTestEnv, type TestEnv } from '@cpg/devkit/testing';
import { type RunningSigner, startSignerWorker } from '../src/worker';
import { BatchEvents, book, capturingLogger, hotAddress, items, publishReady, testClient } from './withdrawal-helpers';

jest.setTimeout(120_000);

const ETH = 10n ** 18n;

let env: TestEnv;
let anvil: AnvilHandle;
let rpc: RpcPool;
let network: NetworkConfig;
let dev: EvmDevControls;
let worker: RunningSigner | undefined;
let client: Bus;
let events: BatchEvents;

/** Batches the processor must hold between storing and broadcasting, until released. */
const held = new Map<string, { stored: () => void; release: Promise<void> }>();
/** Releases every held batch (also when a test fails early, so the worker can stop). */
const releases: (() => void)[] = [];
/** Addresses the test registered, as the address subgraph would answer for them. */
const registry = new Map<string, { merchantId: string; type: 'HOT' | 'USER' }>();

const ethBalance = async (a: string) => BigInt(await rpc.call<string>('eth_getBalance', [a, 'latest']));

beforeAll(async () => {
  env = await createTestEnv();
  anvil = await startAnvil({ port: 0 });
  process.env.DEV_EVM_RPC_URL = anvil.rpcUrl;
  network = getNetwork('dev-evm');
  rpc = createRpcPool(network.rpc);
  dev = new EvmDevControls(network, rpc);
  const config = { ...env.workerConfig(), KEY_ENCRYPTION_KEY: randomBytes(32).toString('hex'), KEY_ENCRYPTION_KEY_ID: 1, WITHDRAWAL_POLL_MS: 150 };
  worker = await startSignerWorker(config, capturingLogger().log, {
    networks: [network],
    afterSign: async (batchId) => {
      const h = held.get(batchId);
      if (!h) return;
      h.stored();
      await h.release;
    },
  });
  client = await testClient(env, 'signer-collect-hot-test');
  book.serve(client);
  client.reply('address.lookup', async (q) => {
    const r = registry.get(q.address.toLowerCase());
    return r
      ? { found: true as const, addressId: randomUUID(), merchantId: r.merchantId, networkId: q.networkId, address: q.address, type: r.type }
      : { found: false as const };
  });
  // Every step this test asks for is one "the collector" persisted and waits to have signed.
  client.reply('collector.verify_step', async () => ({ ok: true as const }));
  events = new BatchEvents(client);
  await events.start();
});

afterAll(async () => {
  for (const r of releases) r();
  await events?.stop();
  await client?.close();
  await worker?.stop();
  await rpc?.close();
  await anvil?.stop();
  await env?.cleanup();
});

it('a top-up from the HOT wallet takes the nonce after a stored, unbroadcast payout: both are mined, the batch is paid', async () => {
  const merchantId = randomUUID();
  const hot = await hotAddress(client, merchantId, 'dev-evm');
  const user = Wallet.createRandom().address;
  registry.set(hot.address.toLowerCase(), { merchantId, type: 'HOT' });
  registry.set(user.toLowerCase(), { merchantId, type: 'USER' });
  await dev.fund(hot.address, 'dev-evm:ETH', 2n * ETH);

  // The processor signs and stores the payout, then waits here before broadcasting it.
  const batchId = randomUUID();
  let release!: () => void;
  const stored = new Promise<void>((resolve) => held.set(batchId, { stored: resolve, release: new Promise<void>((r) => releases.push((release = r))) }));
  const payee = Wallet.createRandom().address;
  await publishReady(client, { batchId, merchantId, network: 'dev-evm', coinId: 'dev-evm:ETH', items: items([payee], () => ETH / 10n) });
  await stored;
  const [payout] = await worker!.orm.em
    .fork()
    .getConnection()
    .execute<{ nonce: string; status: string; tx_hash: string }[]>(`select nonce::text, status, tx_hash from signer.withdrawal_txs where batch_id = ?`, [
      batchId,
    ]);
  expect(payout).toMatchObject({ status: 'SIGNED' });
  // The node has not seen the payout: its pending count is still the payout's nonce.
  expect(Number(await rpc.call<string>('eth_getTransactionCount', [hot.address, 'pending']))).toBe(Number(payout!.nonce));

  const topUp: RpcRequest<'signer.collect_sign'> = {
    kind: 'transfer',
    merchantId,
    networkId: 'dev-evm',
    requestId: randomUUID(),
    from: { type: 'KEY', keyId: hot.keyId, address: hot.address },
    to: user,
    coinId: 'dev-evm:ETH',
    amount: (ETH / 1000n).toString(),
    sweepAll: false,
  };
  const signed = await client.request('signer.collect_sign', topUp, 20_000);
  expect(Transaction.from(signed.raw).nonce).toBe(Number(payout!.nonce) + 1);
  // Asked again before the collector broadcast it (a lost reply): the same transaction.
  expect((await client.request('signer.collect_sign', topUp, 20_000)).txHash).toBe(signed.txHash);

  // The payout goes out first, as the processor resumes; then the collector's broadcast.
  release();
  const done = await events.wait(batchId, 'CONFIRMED');
  expect(done.txHash).toBe(payout!.tx_hash);
  await rpc.call('eth_sendRawTransaction', [signed.raw]);
  const r = await waitForReceipt(rpc, signed.txHash, { timeoutMs: 30_000 });
  expect(r?.status).toBe('0x1');
  expect(await ethBalance(payee)).toBe(ETH / 10n);
  expect(await ethBalance(user)).toBe(ETH / 1000n);
  expect(events.statuses(batchId)).not.toContain('FAILED');
});
