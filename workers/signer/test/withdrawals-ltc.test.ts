// Withdrawals on the Litecoin dev chain (litecoind regtest) with the real signer worker, Postgres
// and NATS: one LTC payout, 20 payouts in one transaction with 20 outputs plus change back to the
// HOT address, an empty HOT wallet waiting for funds, a stuck transaction replaced by RBF (never
// a second spend), and a batch killed between store and broadcast (in process) re-sent as is.
import { randomBytes, randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Bus } from '@cpg/core/bus';
import { getNetwork, type NetworkConfig } from '@cpg/chains';
import { coinsToSats } from '@cpg/chains/bitcoin/amount';
import { LitecoinDevControls, startLitecoind, type LitecoindHandle } from '@cpg/devkit/chains/bitcoin/dev';
import { createTestEnv, type TestEnv } from '@cpg/devkit/testing';
import { type RunningSigner, type SignerStartConfig, startSignerWorker } from '../src/worker';
import { BatchEvents, book, capturingLogger, hotAddress, items, publishReady, testClient } from './withdrawal-helpers';

jest.setTimeout(180_000);

const KEK = randomBytes(32).toString('hex');
const LTC = 100_000_000n;

interface RawTx {
  txid: string;
  vin: { txid: string; vout: number }[];
  vout: { value: number; n: number; scriptPubKey: { address?: string; addresses?: string[] } }[];
  confirmations?: number;
}

let env: TestEnv;
let dataDir: string;
let node: LitecoindHandle;
let network: NetworkConfig;
let dev: LitecoinDevControls;
let config: SignerStartConfig;
let worker: RunningSigner | undefined;
let client: Bus;
let events: BatchEvents;
const captured = capturingLogger();
let crashNext = false;

const rawTx = (txid: string) => node.transport.call<RawTx>('getrawtransaction', [txid, true]);
const addrOf = (o: RawTx['vout'][number]) => o.scriptPubKey.address ?? o.scriptPubKey.addresses?.[0];
const newAddress = () => node.walletTransport.call<string>('getnewaddress', ['', 'bech32']);

/** What a transaction paid: its inputs minus its outputs. */
async function feeOf(tx: RawTx): Promise<bigint> {
  let inputs = 0n;
  for (const i of tx.vin) inputs += coinsToSats((await rawTx(i.txid)).vout[i.vout]!.value);
  return inputs - tx.vout.reduce((s, o) => s + coinsToSats(o.value), 0n);
}

async function sql<T = Record<string, unknown>>(query: string, params: unknown[] = []): Promise<T[]> {
  return worker!.orm.em.fork().getConnection().execute(query, params);
}

async function fundedMerchant(amount: bigint | null): Promise<{ merchantId: string; hot: string }> {
  const merchantId = randomUUID();
  const hot = (await hotAddress(client, merchantId, 'dev-ltc')).address;
  if (amount) {
    await dev.fund(hot, 'dev-ltc:LTC', amount);
    await dev.mine(1);
  }
  return { merchantId, hot };
}

async function startWorker(): Promise<RunningSigner> {
  worker = await startSignerWorker(config, captured.log, {
    networks: [network],
    afterSign: async () => {
      if (!crashNext) return;
      crashNext = false;
      // The process "dies" between store and broadcast: nothing after this line runs.
      throw new Error('simulated crash after store, before broadcast');
    },
  });
  return worker;
}

beforeAll(async () => {
  env = await createTestEnv();
  dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'cpg-signer-ltc-'));
  // Litecoin Core refuses BIP125 replacements unless told otherwise; the fee-bump case needs them.
  node = await startLitecoind({ dataDir, extraArgs: ['-mempoolreplacement=1'] });
  process.env.DEV_LTC_RPC_URL = node.rpcUrl;
  network = getNetwork('dev-ltc');
  dev = new LitecoinDevControls(network, node.transport, node.walletTransport);
  config = {
    ...env.workerConfig(),
    KEY_ENCRYPTION_KEY: KEK,
    KEY_ENCRYPTION_KEY_ID: 1,
    WITHDRAWAL_POLL_MS: 150,
    WITHDRAWAL_FUNDS_RETRY_MS: 400,
    WITHDRAWAL_BUMP_AFTER_SECONDS: 3,
  };
  await startWorker();
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
  await node?.stop();
  await env?.cleanup();
  await fs.rm(dataDir, { recursive: true, force: true }).catch(() => undefined);
});

describe('LTC withdrawals', () => {
  it('pays one LTC withdrawal with change back to the HOT address; CONFIRMED carries the exact fee', async () => {
    const { merchantId, hot } = await fundedMerchant(LTC);
    const to = await newAddress();
    const batchId = randomUUID();
    await publishReady(client, { batchId, merchantId, network: 'dev-ltc', coinId: 'dev-ltc:LTC', items: items([to], () => LTC / 10n) });
    const sent = await events.wait(batchId, 'BROADCAST');
    await dev.mine(1);
    const done = await events.wait(batchId, 'CONFIRMED');
    expect(done.txHash).toBe(sent.txHash);
    expect(events.statuses(batchId)).toEqual(['SIGNING', 'BROADCAST', 'CONFIRMED']);
    const tx = await rawTx(done.txHash!);
    expect(tx.vout).toHaveLength(2);
    expect(tx.vout.map(addrOf)).toEqual([to, hot]);
    expect(coinsToSats(tx.vout[0]!.value)).toBe(LTC / 10n);
    expect(done.fee).toBe((await feeOf(tx)).toString());
    expect(done.feeCoinId).toBe('dev-ltc:LTC');
    expect(done.confirmations).toBeGreaterThanOrEqual(1);
  });

  it('pays 20 withdrawals in one transaction: 20 outputs plus change', async () => {
    const { merchantId, hot } = await fundedMerchant(5n * LTC);
    const tos: string[] = [];
    for (let i = 0; i < 20; i++) tos.push(await newAddress());
    const batchId = randomUUID();
    await publishReady(client, { batchId, merchantId, network: 'dev-ltc', coinId: 'dev-ltc:LTC', items: items(tos, (i) => BigInt(i + 1) * 1_000_000n) });
    await events.wait(batchId, 'BROADCAST');
    await dev.mine(1);
    const done = await events.wait(batchId, 'CONFIRMED');
    const tx = await rawTx(done.txHash!);
    expect(tx.vout).toHaveLength(21);
    tos.forEach((to, i) => {
      expect(addrOf(tx.vout[i]!)).toBe(to);
      expect(coinsToSats(tx.vout[i]!.value)).toBe(BigInt(i + 1) * 1_000_000n);
    });
    expect(addrOf(tx.vout[20]!)).toBe(hot);
    expect(done.fee).toBe((await feeOf(tx)).toString());
    expect(await sql('select 1 from signer.withdrawal_txs where batch_id = ?', [batchId])).toHaveLength(1);
  });

  it('waits for funds with a clear reason and pays once the HOT wallet is refilled', async () => {
    const { merchantId, hot } = await fundedMerchant(null);
    const batchId = randomUUID();
    await publishReady(client, { batchId, merchantId, network: 'dev-ltc', coinId: 'dev-ltc:LTC', items: items([await newAddress()], () => LTC / 2n) });
    const waiting = await events.wait(batchId, 'WAITING_FUNDS');
    expect(waiting.reason).toMatch(
      new RegExp(
        `^HOT wallet ${hot} has 0 confirmed spendable base units of dev-ltc:LTC; the batch needs 50000000 plus a fee of about \\d+; short by 0\\.5\\d* LTC to pay and for the fee: send that to the HOT wallet ${hot}$`,
      ),
    );
    await dev.fund(hot, 'dev-ltc:LTC', LTC);
    // Unconfirmed coins do not count yet.
    await new Promise((r) => setTimeout(r, 1000));
    expect(events.statuses(batchId)).toEqual(['WAITING_FUNDS']);
    await dev.mine(1);
    await events.wait(batchId, 'BROADCAST');
    await dev.mine(1);
    await events.wait(batchId, 'CONFIRMED');
  });

  it('serialises batches of one HOT wallet: the second spends the first one’s change once it confirms', async () => {
    const { merchantId, hot } = await fundedMerchant(LTC);
    const a = { batchId: randomUUID(), merchantId, network: 'dev-ltc', coinId: 'dev-ltc:LTC', items: items([await newAddress()], () => LTC / 10n) };
    const b = { batchId: randomUUID(), merchantId, network: 'dev-ltc', coinId: 'dev-ltc:LTC', items: items([await newAddress()], () => LTC / 10n) };
    await Promise.all([publishReady(client, a), publishReady(client, b)]);
    const first = await Promise.race([events.wait(a.batchId, 'BROADCAST'), events.wait(b.batchId, 'BROADCAST')]);
    const second = first.batchId === a.batchId ? b : a;
    const waiting = await events.wait(second.batchId, 'WAITING_FUNDS');
    expect(waiting.reason).toMatch(/an earlier payout from this wallet is not confirmed yet/);
    await dev.mine(1);
    const sent = await events.wait(second.batchId, 'BROADCAST');
    await dev.mine(1);
    const [doneFirst, doneSecond] = [await events.wait(first.batchId, 'CONFIRMED'), await events.wait(second.batchId, 'CONFIRMED')];
    expect(doneSecond.txHash).toBe(sent.txHash);
    const tx2 = await rawTx(doneSecond.txHash!);
    const tx1 = await rawTx(doneFirst.txHash!);
    expect(tx2.vin).toEqual([expect.objectContaining({ txid: tx1.txid, vout: 1 })]);
    expect(addrOf(tx1.vout[1]!)).toBe(hot);
  });

  it('replaces a stuck transaction by RBF (same inputs, higher fee): the chain shows one spend', async () => {
    const { merchantId, hot } = await fundedMerchant(LTC);
    const to = await newAddress();
    const batchId = randomUUID();
    await publishReady(client, { batchId, merchantId, network: 'dev-ltc', coinId: 'dev-ltc:LTC', items: items([to], () => LTC / 5n) });
    const first = await events.wait(batchId, 'BROADCAST');
    const bumped = await events.wait(batchId, 'BROADCAST', 30_000, (e) => e.txHash !== first.txHash);
    const [a, b] = [await rawTx(first.txHash!).catch(() => null), await rawTx(bumped.txHash!)];
    expect(a).toBeNull(); // replaced: gone from the mempool
    const mempool = await node.transport.call<string[]>('getrawmempool');
    expect(mempool).toContain(bumped.txHash);
    await dev.mine(1);
    const done = await events.wait(batchId, 'CONFIRMED');
    const mined = await rawTx(done.txHash!);
    expect(mined.vout.map(addrOf)).toEqual([to, hot]);
    expect(mined.vin).toEqual(b.vin.map((i) => expect.objectContaining({ txid: i.txid, vout: i.vout })));
    const stored = await sql<{ fee: string; status: string; tx_hash: string }>(
      `select fee::text, status, tx_hash from signer.withdrawal_txs where batch_id = ? order by seq`,
      [batchId],
    );
    expect(stored.length).toBeGreaterThanOrEqual(2);
    expect(BigInt(stored[stored.length - 1]!.fee)).toBeGreaterThan(BigInt(stored[0]!.fee));
    expect(stored.filter((s) => s.status === 'CONFIRMED').map((s) => s.tx_hash)).toEqual([done.txHash]);
    expect(done.fee).toBe((await feeOf(mined)).toString());
    // Exactly one payment reached the payee.
    const received = await node.walletTransport.call<number>('getreceivedbyaddress', [to, 1]);
    expect(coinsToSats(received)).toBe(LTC / 5n);
  });

  it('re-broadcasts the stored bytes after a crash between store and broadcast', async () => {
    const { merchantId } = await fundedMerchant(LTC);
    const to = await newAddress();
    const batchId = randomUUID();
    crashNext = true;
    await publishReady(client, { batchId, merchantId, network: 'dev-ltc', coinId: 'dev-ltc:LTC', items: items([to], () => LTC / 4n) });
    const signing = await events.wait(batchId, 'SIGNING');
    const [stored] = await sql<{ tx_hash: string; raw: string }>(`select tx_hash, raw from signer.withdrawal_txs where batch_id = ?`, [batchId]);
    expect(stored!.tx_hash).toBe(signing.txHash);
    // A restart picks the SIGNED batch up again.
    await worker!.stop();
    await startWorker();
    const sent = await events.wait(batchId, 'BROADCAST');
    expect(sent.txHash).toBe(stored!.tx_hash);
    const inPool = await node.transport.call<string>('getrawtransaction', [stored!.tx_hash, false]);
    expect(inPool).toBe(stored!.raw);
    await dev.mine(1);
    await events.wait(batchId, 'CONFIRMED');
    expect(await sql('select 1 from signer.withdrawal_txs where batch_id = ?', [batchId])).toHaveLength(1);
    expect(coinsToSats(await node.walletTransport.call<number>('getreceivedbyaddress', [to, 1]))).toBe(LTC / 4n);
  });

  it('keeps no HOT key in the clear in the database or in any log line of the run', async () => {
    const wallets = await sql<{ merchant_id: string }>(`select merchant_id from signer.hot_wallets where network_id = 'dev-ltc'`);
    expect(wallets.length).toBeGreaterThanOrEqual(5);
    const dump = (await sql<{ line: string }>(`select t::text as line from signer.keys t union all select w::text from signer.withdrawal_txs w`))
      .map((r) => r.line)
      .join('\n');
    const raw = Buffer.concat((await sql<{ sealed: Buffer }>('select sealed from signer.keys')).map((r) => r.sealed));
    const logs = captured.text().toLowerCase();
    expect(logs).toMatch(/withdrawal transaction final/);
    for (const { merchant_id } of wallets) {
      const wallet = await worker!.hotWallets.find(merchant_id, 'dev-ltc');
      const key = Buffer.from((await worker!.keys.privateKeyForKey(wallet!.keyId)).privateKey);
      expect(raw.includes(key)).toBe(false);
      expect(dump.toLowerCase()).not.toContain(key.toString('hex'));
      expect(logs).not.toContain(key.toString('hex'));
      expect(captured.text()).not.toContain(key.toString('base64'));
    }
  });
});
