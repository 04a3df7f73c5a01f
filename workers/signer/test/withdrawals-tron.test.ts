// Tron withdrawals through the signer worker against the fake Tron node (a test double of a
// java-tron HTTP API: it verifies signatures, TaPoS, balances; see shared/devkit/src/chains/tron/fake-node.ts),
// with real Postgres and NATS. A Tron transaction carries one transfer, so batches hold one.
import { randomBytes, randomUUID } from 'node:crypto';
import * as ecc from 'tiny-secp256k1';
import type { Bus } from '@cpg/core/bus';
import { getNetwork, type NetworkConfig } from '@cpg/chains';
import { tronAddressFromPublicKey } from '@cpg/chains/tron/address';
import { FakeTronNode } from '@cpg/devkit/chains/tron/fake-node';
import type { TronTxInfoJson } from '@cpg/chains/tron/protocol';
import { createTestEnv, eventually, type TestEnv } from '@cpg/devkit/testing';
import { type RunningSigner, startSignerWorker } from '../src/worker';
import { BatchEvents, book, capturingLogger, hotAddress, items, publishReady, testClient } from './withdrawal-helpers';

jest.setTimeout(60_000);

const TRX = 1_000_000n;

let env: TestEnv;
let node: FakeTronNode;
let network: NetworkConfig;
let worker: RunningSigner;
let client: Bus;
let events: BatchEvents;
const captured = capturingLogger();

const freshAddress = () => tronAddressFromPublicKey(ecc.pointFromScalar(randomBytes(32), false)!);
const usdt = () => network.coins.find((c) => c.symbol === 'USDT')!;

async function info(txId: string): Promise<TronTxInfoJson> {
  const res = await fetch(`${node.url}/wallet/gettransactioninfobyid`, { method: 'POST', body: JSON.stringify({ value: txId }) });
  return (await res.json()) as TronTxInfoJson;
}

/** Mines whatever the signer broadcast for the batch, then waits for the final event. */
async function mineUntil(batchId: string, status: 'CONFIRMED' | 'FAILED') {
  const sent = await events.wait(batchId, 'BROADCAST');
  await eventually(async () => node.pendingIds().includes(sent.txHash!), 'transaction in the fake node pool');
  node.mine();
  return events.wait(batchId, status);
}

beforeAll(async () => {
  env = await createTestEnv();
  node = await FakeTronNode.start({ recorded: 'mainnet' });
  network = { ...getNetwork('tron'), rpc: [{ url: node.url }], confirmations: 1 };
  worker = await startSignerWorker(
    {
      ...env.workerConfig(),
      KEY_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
      KEY_ENCRYPTION_KEY_ID: 1,
      WITHDRAWAL_POLL_MS: 150,
      WITHDRAWAL_FUNDS_RETRY_MS: 600_000,
    },
    captured.log,
    { networks: [network] },
  );
  client = await testClient(env);
  // Plays the withdrawal subgraph's confirmation of the batches this file publishes.
  book.serve(client);
  events = new BatchEvents(client);
  await events.start();
});

afterAll(async () => {
  await events?.stop();
  await client?.close();
  await worker?.stop();
  await node?.close();
  await env?.cleanup();
});

describe('Tron withdrawals', () => {
  it('pays one TRX withdrawal; CONFIRMED carries the TRX the transaction burnt', async () => {
    const merchantId = randomUUID();
    const { address: hot } = await hotAddress(client, merchantId, 'tron');
    node.fund(hot, 20n * TRX);
    const batchId = randomUUID();
    await publishReady(client, { batchId, merchantId, network: 'tron', coinId: 'tron:TRX', items: items([freshAddress()], () => 3n * TRX) });
    const done = await mineUntil(batchId, 'CONFIRMED');
    expect(events.statuses(batchId)).toEqual(['SIGNING', 'BROADCAST', 'CONFIRMED']);
    const i = await info(done.txHash!);
    expect(done.fee).toBe(String(i.fee ?? 0));
    expect(done.feeCoinId).toBe('tron:TRX');
  });

  // The periodic funds retry is 10 minutes here: only the wake-ups below can make these pass.
  it('pays one TRC-20 USDT withdrawal, waiting for TRX to burn for energy first (woken by the tracker seeing the top-up)', async () => {
    const merchantId = randomUUID();
    const { address: hot } = await hotAddress(client, merchantId, 'tron');
    node.setTokenBalance(usdt().contract!, hot, 100n * 10n ** 6n);
    const batchId = randomUUID();
    await publishReady(client, { batchId, merchantId, network: 'tron', coinId: usdt().id, items: items([freshAddress()], () => 7n * 10n ** 6n) });
    const waiting = await events.wait(batchId, 'WAITING_FUNDS');
    expect(waiting.reason).toMatch(
      new RegExp(
        `^HOT wallet ${hot} has 0 of the \\d+ base units of tron:TRX it may burn for energy and bandwidth; short by [0-9.]+ TRX for energy and bandwidth: send that to the HOT wallet ${hot}$`,
      ),
    );
    node.fund(hot, 100n * TRX);
    await new Promise((r) => setTimeout(r, 500));
    expect(events.statuses(batchId)).toEqual(['WAITING_FUNDS']);
    // As the tracker reports a confirmed transfer to a watched (HOT) address.
    await client.publish(
      'chain.transfer.confirmed',
      {
        network: 'tron',
        txHash: randomBytes(32).toString('hex'),
        index: 0,
        from: null,
        to: hot,
        coinId: 'tron:TRX',
        amount: (100n * TRX).toString(),
        blockHeight: 1,
        blockHash: randomBytes(32).toString('hex'),
        confirmations: 1,
        addressId: randomUUID(),
        merchantId,
        internal: false,
      },
      { id: randomUUID(), key: randomUUID() },
    );
    const done = await mineUntil(batchId, 'CONFIRMED');
    const i = await info(done.txHash!);
    expect(i.receipt?.result).toBe('SUCCESS');
    expect(done.fee).toBe(String(i.fee ?? 0));
  });

  it('retries a batch that waits for funds when the same withdrawal.batch.ready arrives again', async () => {
    const merchantId = randomUUID();
    const { address: hot } = await hotAddress(client, merchantId, 'tron');
    const batch = { batchId: randomUUID(), merchantId, network: 'tron', coinId: 'tron:TRX', items: items([freshAddress()], () => 2n * TRX) };
    await publishReady(client, batch);
    await events.wait(batch.batchId, 'WAITING_FUNDS');
    node.fund(hot, 10n * TRX);
    await new Promise((r) => setTimeout(r, 500));
    expect(events.statuses(batch.batchId)).toEqual(['WAITING_FUNDS']);
    await publishReady(client, batch);
    await mineUntil(batch.batchId, 'CONFIRMED');
    expect(events.statuses(batch.batchId)).toEqual(['WAITING_FUNDS', 'SIGNING', 'BROADCAST', 'CONFIRMED']);
  });

  it('reports a TRC-20 transfer that reverted on chain as FAILED with the fee the node reports for it', async () => {
    const merchantId = randomUUID();
    const { address: hot } = await hotAddress(client, merchantId, 'tron');
    node.setTokenBalance(usdt().contract!, hot, 10n * 10n ** 6n);
    node.fund(hot, 100n * TRX);
    const batchId = randomUUID();
    await publishReady(client, { batchId, merchantId, network: 'tron', coinId: usdt().id, items: items([freshAddress()], () => 10n ** 6n) });
    const sent = await events.wait(batchId, 'BROADCAST');
    await eventually(async () => node.pendingIds().includes(sent.txHash!), 'transaction in the fake node pool');
    node.revertWhenMined(sent.txHash!);
    node.mine();
    const failed = await events.wait(batchId, 'FAILED');
    const i = await info(failed.txHash!);
    expect(i.receipt?.result).toBe('REVERT');
    expect(failed.reason).toMatch(/reverted on chain/);
    expect(failed.fee).toBe(String(i.fee ?? 0));
  });

  it('refuses a Tron batch of more than one withdrawal without signing anything', async () => {
    const merchantId = randomUUID();
    const batchId = randomUUID();
    await publishReady(client, { batchId, merchantId, network: 'tron', coinId: 'tron:TRX', items: items([freshAddress(), freshAddress()], () => TRX) });
    const failed = await events.wait(batchId, 'FAILED');
    expect(failed.reason).toMatch(/batches of one/);
    expect(await worker.orm.em.fork().getConnection().execute('select 1 from signer.withdrawal_txs where batch_id = ?', [batchId])).toHaveLength(0);
  });
});
