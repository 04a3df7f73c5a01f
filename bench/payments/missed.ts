/**
 * Subscriptions that never hear of their payment, on the clustered topology (`npm run
 * start:cluster`'s: three NATS nodes, two of every service, the balancer): N payments
 * (BENCH_MISSED_PAYMENTS, default 10,000) of dev-evm:ETH, each followed over graphql-ws through the
 * balancer, all paid on chain in blocks of BLOCK_SIZE transfers, while one NATS node is killed
 * with SIGKILL mid-way (restarted 5 s later). Once every payment is served in the database
 * (CONFIRMING, PAID, OVERPAID or ON_HOLD; BENCH_MISSED_DRAIN_MS at most, default 30 min: on 2 cores
 * the deposits take a while), each subscriber's last message is compared with its payment's
 * status. Goal: none differs (ratio 1). Also prints the end-to-end deposit rate.
 *
 *   npx tsx bench/run.ts payments/missed
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Wallet } from 'ethers';
import { type Client, createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { anvilAccount, startAnvil } from '@cpg/devkit/chains/evm/dev';
import { createRpcPool } from '@cpg/chains/rpc';
import { withPg } from '@cpg/devkit/services';
import { createTestEnv, gql } from '@cpg/devkit/testing';
import { startClusterTopology } from '../../scripts/cluster/topology';

interface BenchResult {
  name: string;
  ratio: number;
  goal: number;
  detail: string;
}

const PER_CONNECTION = 100;
const CREATE_CONCURRENCY = 16;
const BLOCK_SIZE = 200;
const AMOUNT = '0.001';
const AMOUNT_WEI = 10n ** 15n;
const SERVED = new Set(['CONFIRMING', 'PAID', 'OVERPAID', 'ON_HOLD']);
const CREATE = 'mutation($i: CreatePaymentInput!) { createPayment(input: $i) { id address { address } } }';
const SUBSCRIPTION = 'subscription($id: ID) { paymentUpdated(id: $id) { event payment { status } } }';
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Resident memory of a process in bytes (Linux /proc), 0 when unreadable. */
function rssOf(pid: number | undefined): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

async function until(check: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) return false;
    await sleep(100);
  }
  return true;
}

export async function run(log: (line: string) => void, count = Number(process.env.BENCH_MISSED_PAYMENTS ?? 10_000)): Promise<BenchResult[]> {
  const t0 = Date.now();
  const at = () => `${((Date.now() - t0) / 1000).toFixed(0)} s`;
  const env = await createTestEnv();
  const anvil = await startAnvil({ port: 0 });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cpg-bench-missed-'));
  const clients: Client[] = [];
  const cluster = await startClusterTopology({
    root: path.resolve(__dirname, '../..'),
    dataDir: dir,
    databaseUrl: env.databaseUrl,
    namespace: env.namespace,
    ports: 'free',
    silent: true,
    log: (l) => log(l),
    env: {
      LOG_LEVEL: 'warn',
      DEV_EVM_RPC_URL: anvil.rpcUrl,
      // No dev-ltc here: that chain stays down (degraded), which this bench does not use.
      DEV_LTC_RPC_URL: 'http://127.0.0.1:9',
      RATE_LIMIT_REQUESTS: '100000000',
      RATE_LIMIT_COST: '1000000000',
      WS_MAX_CONNECTIONS_PER_IP: '100000',
      WS_MAX_SUBSCRIPTIONS_PER_CONNECTION: String(PER_CONNECTION),
      COMPLIANCE_VELOCITY_MAX: '10000',
    },
  });
  try {
    log(`cluster up (${at()})`);
    const made = await gql(cluster.url, 'mutation { createMerchant(input: { name: "Missed shop" }) { secret } }', {}, cluster.operatorToken);
    const key: string = made.data.createMerchant.secret;
    const payments: { id: string; address: string }[] = [];
    let next = 0;
    const tCreate = Date.now();
    await Promise.all(
      Array.from({ length: CREATE_CONCURRENCY }, async () => {
        while (next < count) {
          const i = next++;
          for (let attempt = 1; ; attempt++) {
            const res = await gql(cluster.url, CREATE, { i: { coinId: 'dev-evm:ETH', amount: AMOUNT, orderId: `missed-${i}` } }, key).catch((e: Error) => ({
              data: undefined,
              errors: [e.message],
            }));
            if (res.data?.createPayment) {
              payments[i] = { id: res.data.createPayment.id, address: res.data.createPayment.address.address };
              break;
            }
            if (attempt >= 5) throw new Error(`createPayment: ${JSON.stringify(res.errors)}`);
            await sleep(500);
          }
          if (i % 1000 === 999) log(`${i + 1} payments created (${at()})`);
        }
      }),
    );

    const createdIn = (Date.now() - tCreate) / 1000;
    const gateways = cluster.instances.filter((i) => i.process.kind === 'gateway').map((i) => i.name);
    const rss = () => gateways.reduce((sum, g) => sum + rssOf(cluster.supervisor.pid(g)), 0);
    const rssBefore = rss();
    const statusOf = new Map<string, string>();
    const messages = { n: 0 };
    const errors: string[] = [];
    for (let i = 0; i < payments.length; i++) {
      if (i % PER_CONNECTION === 0) {
        clients.push(
          createClient({
            url: cluster.url.replace(/^http/, 'ws'),
            webSocketImpl: WebSocket,
            connectionParams: { authorization: `Bearer ${key}` },
            retryAttempts: 1000,
            shouldRetry: () => true,
          }),
        );
      }
      const id = payments[i]!.id;
      const client = clients[clients.length - 1]!;
      // As a checkout page does: a subscription that ends with an error is started again.
      const follow = () =>
        client.subscribe<{ paymentUpdated: { payment: { status: string } } }>(
          { query: SUBSCRIPTION, variables: { id } },
          {
            next: (r) => {
              messages.n++;
              const status = r.data?.paymentUpdated?.payment.status;
              if (status && !SERVED.has(statusOf.get(id) ?? '')) statusOf.set(id, status);
              if (r.errors) errors.push(JSON.stringify(r.errors).slice(0, 300));
            },
            error: (e) => {
              errors.push(JSON.stringify(e).slice(0, 300));
              setTimeout(follow, 1000);
            },
            complete: () => undefined,
          },
        );
      follow();
    }
    // The first message of each subscription is the payment's current state: every one is live.
    if (!(await until(() => statusOf.size >= count, 600_000))) {
      throw new Error(`only ${statusOf.size} of ${count} subscriptions answered; ${errors.length} errors, first: ${errors.slice(0, 3).join(' | ')}`);
    }
    if (errors.length) log(`${errors.length} subscription errors (each resubscribed); first: ${errors.slice(0, 3).join(' | ')}`);
    const perSub = (rss() - rssBefore) / count;
    log(`${count} subscriptions live over ${clients.length} connections on ${gateways.length} gateways: +${(perSub / 1024).toFixed(1)} KB RSS each (${at()})`);

    const rpc = createRpcPool([{ url: anvil.rpcUrl }]);
    await rpc.call('evm_setAutomine', [false]);
    const faucet = new Wallet(Buffer.from(anvilAccount(0).privateKey).toString('hex'));
    let nonce = Number(await rpc.call<string>('eth_getTransactionCount', [faucet.address, 'pending']));
    log(`payments created at ${(count / createdIn).toFixed(0)}/s through the balancer (both gateways), ${CREATE_CONCURRENCY} at a time`);
    const blocks = Math.ceil(count / BLOCK_SIZE);
    const killAt = Math.floor(blocks / 2);
    let restart: Promise<void> | undefined;
    for (let b = 0; b < blocks; b++) {
      if (b === killAt) {
        const node = cluster.nats.nodes[1]!;
        const pid = node.pid;
        await node.kill();
        log(`block ${b + 1} of ${blocks}: NATS node n2 killed (pid ${pid}) (${at()})`);
        restart = sleep(5000).then(() => node.start());
      }
      const chunk = payments.slice(b * BLOCK_SIZE, (b + 1) * BLOCK_SIZE);
      for (const p of chunk) {
        const raw = await faucet.signTransaction({
          type: 2,
          chainId: 31337,
          nonce: nonce++,
          to: p.address,
          value: AMOUNT_WEI,
          gasLimit: 21_000,
          maxFeePerGas: 10n ** 10n,
          maxPriorityFeePerGas: 10n ** 9n,
        });
        await rpc.call('eth_sendRawTransaction', [raw]);
      }
      await rpc.call('evm_mine');
      await sleep(250);
    }
    await restart;
    log(`${blocks} blocks of ${BLOCK_SIZE} transfers mined (${at()})`);
    // The payments' own statuses, straight from the payment subgraph's table: a subscriber has
    // missed a change when, once the system is quiet, the last status it was told is not this.
    const dbStatus = async () =>
      new Map(
        (await withPg(env.databaseUrl, (c) => c.query<{ id: string; status: string }>('select id::text, status from payment.payments'))).rows.map((r) => [
          r.id,
          r.status,
        ]),
      );
    const drainMs = Number(process.env.BENCH_MISSED_DRAIN_MS ?? 1_800_000);
    const tBlocks = Date.now();
    let db = await dbStatus();
    let served = 0;
    while (Date.now() - tBlocks < drainMs) {
      db = await dbStatus();
      served = payments.filter((p) => SERVED.has(db.get(p.id) ?? '')).length;
      if (served === count) break;
      await sleep(5000);
    }
    const drainedIn = (Date.now() - tBlocks) / 1000;
    log(
      `${served} of ${count} payments served in the database ${drainedIn.toFixed(0)} s after the last block (${(served / drainedIn).toFixed(1)} deposits/s end to end)`,
    );
    // Messages still on their way get a moment, then every subscriber is compared.
    await until(() => payments.every((p) => statusOf.get(p.id) === db.get(p.id)), 15_000);
    db = await dbStatus();
    const missed = payments.filter((p) => statusOf.get(p.id) !== db.get(p.id));
    for (const p of missed.slice(0, 5)) log(`missed ${p.id}: subscriber last heard ${statusOf.get(p.id)}; the payment is ${db.get(p.id)}`);
    log(`${count - missed.length} of ${count} subscribers on their payment's status, ${missed.length} missed; ${messages.n} messages (${at()})`);
    await rpc.close();
    return [
      {
        name: `subscribers told of their payment (${count}, NATS node killed)`,
        ratio: (count - missed.length) / count,
        goal: 1,
        detail: `${missed.length} missed of ${count}; ${errors.length} subscription errors resubscribed; ${blocks} blocks of ${BLOCK_SIZE}; one of 3 NATS nodes SIGKILLed at block ${killAt + 1}`,
      },
    ];
  } finally {
    for (const c of clients) await Promise.resolve(c.dispose()).catch(() => undefined);
    await cluster.stop().catch(() => undefined);
    await anvil.stop().catch(() => undefined);
    await env.cleanup().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    log(`total ${at()}`);
  }
}

if (require.main === module) {
  run((l) => console.log(l)).then(
    (rows) => {
      for (const r of rows) console.log(`${r.name} ${r.ratio.toFixed(4)} goal ${r.goal} ${r.detail}`);
      process.exit(0);
    },
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
