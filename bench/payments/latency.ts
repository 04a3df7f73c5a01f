/**
 * Payment latency end to end: block mined -> the merchant's `paymentUpdated(id)` subscription
 * message (status CONFIRMING or PAID), vs the tracker's own part of it, block mined ->
 * chain.transfer.seen on the bus, for the same blocks in the same run.
 *
 * anvil of its own (automine off once the payments exist), the whole stack in this process, the
 * tracker in this process on that anvil with confirmations 1. N payments (BENCH_PAYMENTS, default
 * 200) of dev-evm:ETH through the gateway, each followed over graphql-ws; then per payment one
 * transaction paying it in full and one evm_mine, waiting for both the seen event and the
 * subscription message (or a timeout) before the next block, so blocks never queue behind each
 * other. Ratios are tracker seen lag / end-to-end lag (higher is better).
 *
 *   npx tsx bench/run.ts payments/latency
 */
import type { Client } from 'graphql-ws';
import { Wallet } from 'ethers';
import type { Subscription } from 'nats';
import { anvilAccount, startAnvil } from '@cpg/devkit/chains/evm/dev';
import { EvmWatcher } from '@cpg/chains/evm/watcher';
import { getNetwork } from '@cpg/chains/networks';
import { createRpcPool } from '@cpg/chains/rpc';
import type { NetworkConfig } from '@cpg/chains/types';
import { eventually, gql } from '@cpg/devkit/testing';
import { type RunningTracker, startTrackerWorker } from '../../workers/tracker/src/worker';
import { type Stack, startStack } from '../../integration-tests/support/stack';
import { connectWs } from '../../integration-tests/support/ws';

export interface BenchResult {
  name: string;
  ratio: number;
  goal: number;
  detail: string;
}

const SCANNER_POLL_MS = 100;
const PER_CONNECTION = 20;
const CREATE_CONCURRENCY = 8;
const AMOUNT = '0.01';
const AMOUNT_WEI = 10n ** 16n;
/** Per block: how long to wait for both the seen event and the subscription message. */
const BLOCK_TIMEOUT_MS = 10_000;
/** The measuring loop stops early (reporting what it has) past this, to keep the run bounded. */
const MEASURE_BUDGET_MS = 55_000;
const CREATE = 'mutation($i: CreatePaymentInput!) { createPayment(input: $i) { id address { address } } }';
const SUBSCRIPTION = 'subscription($id: ID) { paymentUpdated(id: $id) { event payment { id status } } }';
// ON_HOLD too: the faucet pays every payment, and compliance now and then holds one of those
// deposits for review; its subscriber is told as fast as the others (deposit_seen, confirming,
// on_hold). Counting only CONFIRMING/PAID made such a payment look like a missed update.
const DONE = new Set(['CONFIRMING', 'PAID', 'OVERPAID', 'ON_HOLD']);

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

async function waitUntil(check: () => boolean, ms: number): Promise<boolean> {
  const until = performance.now() + ms;
  while (!check()) {
    if (performance.now() > until) return false;
    await new Promise((r) => setTimeout(r, 1));
  }
  return true;
}

export async function run(log: (line: string) => void, count = Number(process.env.BENCH_PAYMENTS ?? 200)): Promise<BenchResult[]> {
  const started = performance.now();
  let anvil: Awaited<ReturnType<typeof startAnvil>> | undefined;
  let stack: Stack | undefined;
  let tracker: RunningTracker | undefined;
  let seenSub: Subscription | undefined;
  const clients: Client[] = [];
  const stops: (() => void)[] = [];
  try {
    [anvil, stack] = await Promise.all([
      startAnvil({ port: 0 }),
      startStack({ RATE_LIMIT_REQUESTS: 10_000_000, RATE_LIMIT_COST: 1_000_000_000, API_KEY_CACHE_MS: 1000 }),
    ]);
    const network: NetworkConfig = {
      ...getNetwork('dev-evm'),
      confirmations: 1,
      rpc: [{ url: anvil.rpcUrl, supportsTracing: true, supportsBlockReceipts: true }],
    };
    tracker = await startTrackerWorker(stack.env.workerConfig(), {
      networks: [network],
      log: stack.env.log,
      leaseTtlMs: false,
      // The watcher's head poll defaults to 1 s on the dev chain; at the scanner's period here, so a
      // block waits on neither timer for long.
      watcherFor: (n) => new EvmWatcher(n, createRpcPool(n.rpc, { name: n.id }), { pollIntervalMs: SCANNER_POLL_MS }),
      scanner: { pollIntervalMs: SCANNER_POLL_MS },
    });
    const rpc = createRpcPool(network.rpc);
    log(`stack, anvil and tracker up in ${((performance.now() - started) / 1000).toFixed(1)} s`);

    // Payments through the gateway.
    const m = await stack.newMerchant('Latency shop');
    const payments: { id: string; address: string }[] = [];
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: CREATE_CONCURRENCY }, async () => {
        while (next < count) {
          const i = next++;
          const res = await gql(stack!.url, CREATE, { i: { coinId: 'dev-evm:ETH', amount: AMOUNT, orderId: `latency-${i}` } }, m.secret);
          if (!res.data?.createPayment) throw new Error(`createPayment: ${JSON.stringify(res.errors)}`);
          payments[i] = { id: res.data.createPayment.id, address: res.data.createPayment.address.address };
        }
      }),
    );
    log(`${count} payments created in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    // Subscriptions, PER_CONNECTION per socket (the gateway's per-connection limit).
    const firstAt = new Map<string, number>();
    // Every message's (event, status) per payment: what a subscriber that timed out did receive.
    const received = new Map<string, string[]>();
    const failures: string[] = [];
    const live0 = stack.gateway.liveSubscriptions();
    for (let i = 0; i < payments.length; i++) {
      if (i % PER_CONNECTION === 0) clients.push(connectWs(stack.url, m.secret));
      const client = clients[clients.length - 1]!;
      const id = payments[i]!.id;
      stops.push(
        client.subscribe(
          { query: SUBSCRIPTION, variables: { id } },
          {
            next: (r) => {
              const now = performance.now();
              if (r.errors) failures.push(`${id}: ${JSON.stringify(r.errors)}`);
              const update = (r.data as { paymentUpdated?: { event?: string; payment?: { status?: string } } } | null | undefined)?.paymentUpdated;
              const status = update?.payment?.status;
              received.set(id, [...(received.get(id) ?? []), `${update?.event}:${status}@${Math.round(now)}`]);
              if (status && DONE.has(status) && !firstAt.has(id)) firstAt.set(id, now);
            },
            error: (e) => failures.push(`${id}: ${JSON.stringify(e)}`),
            complete: () => undefined,
          },
        ),
      );
    }
    await eventually(
      async () => {
        if (failures.length) throw new Error(`subscriptions failed: ${failures[0]}`);
        return stack!.gateway.liveSubscriptions() - live0 >= count;
      },
      `${count} live subscriptions`,
      30_000,
    );
    // Every address in the tracker's watch list before any block.
    const watch = tracker.watchLists.lists.get('dev-evm')!;
    await eventually(async () => payments.every((p) => watch.get(p.address)), 'every payment address watched', 30_000);
    log(`${count} subscriptions live, every address watched`);

    // The tracker's side: seen events on the stack's bus (core NATS).
    const seenAt = new Map<string, number>();
    const bus = stack.bus;
    seenSub = bus.nc.subscribe(bus.namespaced('chain.dev-evm.transfer.seen.>'), {
      callback: (_err, msg) => {
        const now = performance.now();
        const e = JSON.parse(new TextDecoder().decode(msg.data)) as { data: { txHash: string } };
        const h = e.data.txHash.toLowerCase();
        if (!seenAt.has(h)) seenAt.set(h, now);
      },
    });
    await bus.nc.flush();

    await rpc.call('evm_setAutomine', [false]);
    const faucet = new Wallet(Buffer.from(anvilAccount(0).privateKey).toString('hex'));
    let nonce = Number(await rpc.call<string>('eth_getTransactionCount', [faucet.address, 'pending']));
    const seen: number[] = [];
    const e2e: number[] = [];
    let missed = 0;
    const measureStart = performance.now();
    for (const p of payments) {
      if (performance.now() - measureStart > MEASURE_BUDGET_MS) {
        log(`measure budget of ${MEASURE_BUDGET_MS / 1000} s spent after ${seen.length + missed} blocks; stopping there`);
        break;
      }
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
      const hash = (await rpc.call<string>('eth_sendRawTransaction', [raw])).toLowerCase();
      await rpc.call('evm_mine');
      // anvil answers evm_mine once the block is mined.
      const minedAt = performance.now();
      const failedBefore = failures.length;
      const ok = await waitUntil(() => (seenAt.has(hash) && firstAt.has(p.id)) || failures.length > failedBefore, BLOCK_TIMEOUT_MS);
      if (failures.length > failedBefore) {
        missed++;
        const again = await gql(stack.url, 'query($id: ID!) { payment(id: $id) { id status } }', { id: p.id }, m.secret);
        log(
          `block ${seen.length + missed} (payment ${p.id}): subscription error after ${(performance.now() - minedAt).toFixed(0)} ms: ${failures.slice(failedBefore).join('; ')}; ` +
            `payment(id) over HTTP now: ${JSON.stringify(again)}`,
        );
        continue;
      }
      if (!ok) {
        missed++;
        const now = await gql(stack.url, 'query($id: ID!) { payment(id: $id) { status version } }', { id: p.id }, m.secret);
        log(
          `payment ${p.id}: seen ${seenAt.has(hash)} at ${Math.round(seenAt.get(hash) ?? 0)}, mined at ${Math.round(minedAt)}, subscription message ${firstAt.has(p.id)} after ${BLOCK_TIMEOUT_MS} ms; ` +
            `received ${JSON.stringify(received.get(p.id) ?? [])}; over HTTP now ${JSON.stringify(now.data ?? now.errors)}`,
        );
        continue;
      }
      seen.push(seenAt.get(hash)! - minedAt);
      e2e.push(firstAt.get(p.id)! - minedAt);
      // Spread block times over the scanner's polling phase.
      await new Promise((r) => setTimeout(r, Math.random() * SCANNER_POLL_MS));
    }
    if (seen.length === 0) throw new Error('no block measured');
    const [s50, s99, e50, e99] = [percentile(seen, 50), percentile(seen, 99), percentile(e2e, 50), percentile(e2e, 99)];
    const n = seen.length;
    const note = `${n} blocks${n < count ? ` of ${count}` : ''}${missed ? `, ${missed} failed or timed out` : ''}; tracker head and scanner poll ${SCANNER_POLL_MS} ms`;
    log(
      `over ${note}: block mined -> subscription message p50 ${e50.toFixed(0)} ms p99 ${e99.toFixed(0)} ms; ` +
        `block mined -> tracker seen p50 ${s50.toFixed(0)} ms p99 ${s99.toFixed(0)} ms; after seen: p50 ${(e50 - s50).toFixed(0)} ms`,
    );
    return [
      {
        name: 'block mined -> subscription message p50 (vs tracker seen p50)',
        ratio: s50 / e50,
        goal: 0.2,
        detail: `subscription ${e50.toFixed(0)} ms vs tracker seen ${s50.toFixed(0)} ms (${note})`,
      },
      {
        name: 'block mined -> subscription message p99 (vs tracker seen p99)',
        ratio: s99 / e99,
        goal: 0.1,
        detail: `subscription ${e99.toFixed(0)} ms vs tracker seen ${s99.toFixed(0)} ms (${note})`,
      },
    ];
  } finally {
    seenSub?.unsubscribe();
    for (const stop of stops) stop();
    for (const c of clients) await Promise.resolve(c.dispose()).catch(() => undefined);
    await tracker?.stop().catch(() => undefined);
    await stack?.stop().catch(() => undefined);
    await anvil?.stop().catch(() => undefined);
    log(`total ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
}

if (require.main === module) {
  run((l) => console.log(l)).then(
    (rows) => {
      for (const r of rows) console.log(`${r.name.padEnd(60)} ${r.ratio.toFixed(2).padStart(6)}  goal ${r.goal}  ${r.detail}`);
      process.exit(0);
    },
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
