// Two signer workers on the same database and NATS namespace (two replicas), paying withdrawals on
// the dev EVM chain (anvil): every batch is signed once (one stored payout, one nonce of its HOT
// wallet, one SIGNING event), broadcast and confirmed once, and each recipient is paid exactly once
// on chain, while both processors' loops and a stream of extra concurrent steps race for the same
// batches. A second case shows the step claim itself: while one replica is inside a batch's step,
// the other's step of the same batch does nothing.
import { randomBytes, randomUUID } from 'node:crypto';
import { Wallet } from 'ethers';
import type { Bus } from '@cpg/core/bus';
import { getNetwork, type NetworkConfig } from '@cpg/chains';
import { type AnvilHandle, EvmDevControls, deployDevUsdt, startAnvil } from '@cpg/devkit/chains/evm/dev';
import { createRpcPool, type RpcPool } from '@cpg/chains/rpc';
import { createTestEnv, eventually, type TestEnv } from '@cpg/devkit/testing';
import { type RunningSigner, type SignerStartConfig, startSignerWorker } from '../src/worker';
import { BatchEvents, book, capturingLogger, hotAddress, items, publishReady, testClient } from './withdrawal-helpers';

jest.setTimeout(120_000);

const ETH = 10n ** 18n;
const KEK = randomBytes(32).toString('hex');

let env: TestEnv;
let anvil: AnvilHandle;
let rpc: RpcPool;
let network: NetworkConfig;
let dev: EvmDevControls;
let config: SignerStartConfig;
let a: RunningSigner;
let b: RunningSigner;
let client: Bus;
let events: BatchEvents;
/** Milliseconds replica `a` pauses between storing a signed payout and broadcasting it. */
let slowAfterSign = 0;
const captured = capturingLogger();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ethBalance = async (x: string) => BigInt(await rpc.call<string>('eth_getBalance', [x, 'latest']));
const nonceOf = async (x: string) => Number(await rpc.call<string>('eth_getTransactionCount', [x, 'latest']));

async function sql<T = Record<string, unknown>>(query: string, params: unknown[] = []): Promise<T[]> {
  return a.orm.em.fork().getConnection().execute(query, params);
}

beforeAll(async () => {
  env = await createTestEnv();
  anvil = await startAnvil({ port: 0 });
  await deployDevUsdt(anvil.rpcUrl);
  process.env.DEV_EVM_RPC_URL = anvil.rpcUrl;
  network = getNetwork('dev-evm');
  rpc = createRpcPool(network.rpc);
  dev = new EvmDevControls(network, rpc);
  // The production pool size (tests default to 4): each replica here runs its loop's step and the
  // test's extra step at once, each holding a claim connection, a transaction and a key lookup.
  config = {
    ...env.workerConfig({ DB_POOL_MAX: 10 }),
    KEY_ENCRYPTION_KEY: KEK,
    KEY_ENCRYPTION_KEY_ID: 1,
    WITHDRAWAL_POLL_MS: 100,
    WITHDRAWAL_FUNDS_RETRY_MS: 300,
    // anvil mines at once, so only the stuck-transaction case (automine off) ever bumps.
    WITHDRAWAL_BUMP_AFTER_SECONDS: 1,
  };
  a = await startSignerWorker(config, captured.log.child({ replica: 'a' }), {
    networks: [network],
    afterSign: async () => {
      if (slowAfterSign) await sleep(slowAfterSign);
    },
  });
  b = await startSignerWorker(config, captured.log.child({ replica: 'b' }), { networks: [network] });
  client = await testClient(env);
  book.serve(client);
  events = new BatchEvents(client);
  await events.start();
});

afterAll(async () => {
  await events?.stop();
  await client?.close();
  await a?.stop();
  await b?.stop();
  await rpc?.close();
  await anvil?.stop();
  await env?.cleanup();
});

describe('two signer replicas on one database', () => {
  it('sign, broadcast and confirm each batch once: one payout and one nonce per batch, each recipient paid once', async () => {
    const MERCHANTS = 4;
    const PER_MERCHANT = 4;
    const wallets: { merchantId: string; hot: string }[] = [];
    for (let m = 0; m < MERCHANTS; m++) {
      const merchantId = randomUUID();
      const hot = (await hotAddress(client, merchantId, 'dev-evm')).address;
      await dev.fund(hot, 'dev-evm:ETH', 5n * ETH);
      wallets.push({ merchantId, hot });
    }
    const batches: { batchId: string; to: string; amount: bigint; hot: string }[] = [];
    for (const w of wallets)
      for (let i = 0; i < PER_MERCHANT; i++) {
        const to = Wallet.createRandom().address;
        const amount = ETH / 100n + BigInt(batches.length);
        batches.push({ batchId: randomUUID(), to, amount, hot: w.hot });
      }
    await Promise.all(
      batches.map((x) =>
        publishReady(client, {
          batchId: x.batchId,
          merchantId: wallets.find((w) => w.hot === x.hot)!.merchantId,
          network: 'dev-evm',
          coinId: 'dev-evm:ETH',
          items: items([x.to], () => x.amount),
        }),
      ),
    );

    // Besides both loops, each replica keeps stepping every batch in turn (one step at a time, as
    // its loop does), the two replicas in step with each other, until all are final.
    let racing = true;
    const stepped = { a: 0, b: 0, skipped: 0 };
    const racer = (r: RunningSigner, name: 'a' | 'b') =>
      (async () => {
        while (racing) {
          for (const x of batches) {
            if (await r.withdrawals!.step(x.batchId)) stepped[name]++;
            else stepped.skipped++;
          }
          await sleep(10);
        }
      })();
    const race = Promise.all([racer(a, 'a'), racer(b, 'b')]);
    try {
      for (const x of batches) await events.wait(x.batchId, 'CONFIRMED', 40_000);
    } catch (err) {
      console.log(
        JSON.stringify(
          await sql(
            `select pid, state, wait_event_type, wait_event, left(query, 200) as q, now() - xact_start as age from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()`,
          ),
          null,
          1,
        ),
      );
      console.log(
        batches.map((x) => events.statuses(x.batchId).join(',')).join('\n'),
        stepped,
        captured
          .text()
          .split('\n')
          .filter((l) => /warn|error|"level":[45]0/.test(l))
          .slice(-30)
          .join('\n'),
      );
      throw err;
    } finally {
      racing = false;
      await race;
    }

    for (const x of batches) {
      expect(events.statuses(x.batchId)).toEqual(['SIGNING', 'BROADCAST', 'CONFIRMED']);
      expect(await ethBalance(x.to)).toBe(x.amount);
    }
    const txs = await sql<{ batch_id: string; kind: string; seq: number; from_address: string; nonce: string; status: string }>(
      `select batch_id, kind, seq, from_address, nonce::text as nonce, status from signer.withdrawal_txs where batch_id::text = any(string_to_array(?, ','))`,
      [batches.map((x) => x.batchId).join(',')],
    );
    // One signed version per batch, all of them mined; one signed transaction per (wallet, nonce).
    expect(txs).toHaveLength(batches.length);
    expect(txs.every((t) => t.kind === 'PAYOUT' && t.seq === 0 && t.status === 'CONFIRMED')).toBe(true);
    expect(new Set(txs.map((t) => t.batch_id)).size).toBe(batches.length);
    expect(new Set(txs.map((t) => `${t.from_address.toLowerCase()}:${t.nonce}`)).size).toBe(batches.length);
    for (const w of wallets) {
      const nonces = txs
        .filter((t) => t.from_address.toLowerCase() === w.hot.toLowerCase())
        .map((t) => Number(t.nonce))
        .sort((p, q) => p - q);
      expect(nonces).toEqual([0, 1, 2, 3]);
      expect(await nonceOf(w.hot)).toBe(PER_MERCHANT);
    }
    // Both replicas did steps, and concurrent steps of one batch were turned away, not run twice.
    expect(stepped.a).toBeGreaterThan(0);
    expect(stepped.b).toBeGreaterThan(0);
    expect(stepped.skipped).toBeGreaterThan(0);
    expect(captured.text()).not.toMatch(/duplicate key/);
  });

  it("a replica's step of a batch the other replica is stepping does nothing", async () => {
    const merchantId = randomUUID();
    const hot = (await hotAddress(client, merchantId, 'dev-evm')).address;
    await dev.fund(hot, 'dev-evm:ETH', ETH);
    const to = Wallet.createRandom().address;
    const batchId = randomUUID();
    // Stored as the intake would, but not due for an hour: only the explicit steps below touch it.
    await sql(
      `insert into signer.withdrawal_batches (batch_id, merchant_id, network_id, coin_id, items, total, status, next_check_at)
       values (?, ?, 'dev-evm', 'dev-evm:ETH', ?::jsonb, ?, 'NEW', now() + interval '1 hour')`,
      [batchId, merchantId, JSON.stringify(items([to], () => ETH / 20n)), (ETH / 20n).toString()],
    );
    slowAfterSign = 1_500;
    try {
      const first = a.withdrawals!.step(batchId);
      // Replica a has signed and stored, and is between store and broadcast.
      await eventually(
        async () => (await sql(`select 1 from signer.withdrawal_txs where batch_id = ?`, [batchId])).length > 0 || undefined,
        'signed',
        10_000,
        20,
      );
      const second = await b.withdrawals!.step(batchId);
      expect(second).toBe(false);
      expect(await first).toBe(true);
    } finally {
      slowAfterSign = 0;
    }
    await events.wait(batchId, 'CONFIRMED', 30_000);
    expect(events.statuses(batchId)).toEqual(['SIGNING', 'BROADCAST', 'CONFIRMED']);
    expect(await ethBalance(to)).toBe(ETH / 20n);
    const [{ n }] = await sql<{ n: number }>(`select count(*)::int as n from signer.withdrawal_txs where batch_id = ?`, [batchId]);
    expect(n).toBe(1);
  });
  it('a stuck payout stepped by both replicas is fee-bumped one version at a time: every version signed is stored, same nonce, paid once', async () => {
    const merchantId = randomUUID();
    const hot = (await hotAddress(client, merchantId, 'dev-evm')).address;
    await dev.fund(hot, 'dev-evm:ETH', ETH);
    const to = Wallet.createRandom().address;
    const batchId = randomUUID();
    const logBefore = captured.text().length;
    await rpc.call('evm_setAutomine', [false]);
    try {
      await publishReady(client, { batchId, merchantId, network: 'dev-evm', coinId: 'dev-evm:ETH', items: items([to], () => ETH / 7n) });
      await events.wait(batchId, 'BROADCAST');
      // Both replicas step the stuck batch at the same moments for 3.5 s (bumps are due every 1 s),
      // on top of their own loops.
      const until = Date.now() + 3_500;
      while (Date.now() < until) {
        await Promise.all([a.withdrawals!.step(batchId), b.withdrawals!.step(batchId)]);
        await sleep(10);
      }
      await dev.mine(1);
    } finally {
      await rpc.call('evm_setAutomine', [true]);
    }
    await events.wait(batchId, 'CONFIRMED', 30_000);
    const txs = await sql<{ seq: number; nonce: string; tx_hash: string; status: string }>(
      `select seq, nonce::text as nonce, tx_hash, status from signer.withdrawal_txs where batch_id = ? order by seq`,
      [batchId],
    );
    // Several bumps happened, each one version after the other (0, 1, 2, ...), all on nonce 0.
    expect(txs.length).toBeGreaterThanOrEqual(3);
    expect(txs.map((t) => t.seq)).toEqual(txs.map((_, i) => i));
    expect(new Set(txs.map((t) => t.nonce))).toEqual(new Set(['0']));
    expect(new Set(txs.map((t) => t.tx_hash)).size).toBe(txs.length);
    expect(txs.filter((t) => t.status === 'CONFIRMED')).toHaveLength(1);
    // No replica signed a bump that the other had already stored (it would fail to store it).
    const log = captured.text().slice(logBefore);
    const bumpsSigned = log.split('\n').filter((l) => l.includes(batchId) && l.includes('fee bump signed and stored')).length;
    expect(bumpsSigned).toBe(txs.length - 1);
    expect(log).not.toMatch(/duplicate key/);
    expect(await ethBalance(to)).toBe(ETH / 7n);
    expect(await nonceOf(hot)).toBe(1);
  });
});
