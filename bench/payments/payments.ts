/**
 * Payment benchmarks on the whole stack (real Postgres and NATS, every subgraph and a gateway in
 * this process):
 * - createPayment: payments created per second through the gateway (API key, auth cache, rate
 *   limiter, query planning, signing) vs straight to the payment subgraph with the headers the
 *   gateway would sign, in alternating rounds of the same run. Goal >= 0.6x.
 * - subscriptions: SUBSCRIBERS concurrent `paymentUpdated(id)` subscriptions of one payment on
 *   the gateway, held by a child process so only the gateway's side is measured here: memory per
 *   subscription (heap and RSS after a full GC, less the same before), goal <= 20 KB; and the
 *   fan-out of one event (published -> the last subscriber has its re-read answer), goal <= 10 s.
 *   Every subscriber here uses one key and one selection, so the gateway shares one re-read per
 *   event among them; distinct keys or selections would cost one subgraph read each.
 *
 *   npx tsx bench/payments/payments.ts [subscribers]
 */
import { fork } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { API_SCOPES, signRequest } from '@cpg/core/graphql';
import { gql } from '@cpg/devkit/testing';
import { startStack } from '../../integration-tests/support/stack';

export interface BenchResult {
  name: string;
  ratio: number;
  goal: number;
  detail: string;
}

const ROUND = 150;
const ROUNDS = 2;
const CONCURRENCY = 8;
const MEMORY_BUDGET_BYTES = 20 * 1024;
const FANOUT_BUDGET_MS = 10_000;
const PER_CONNECTION = 20;
const CREATE = 'mutation($i: CreatePaymentInput!) { createPayment(input: $i) { id status amount } }';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function memory(): { heap: number; rss: number } {
  for (let i = 0; i < 3; i++) gc();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, rss: m.rss };
}

/** Runs `total` calls, `CONCURRENCY` at a time; returns calls per second. */
async function throughput(total: number, call: (i: number) => Promise<void>): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < total) await call(next++);
    }),
  );
  return total / ((performance.now() - started) / 1000);
}

async function waitFor(check: () => boolean | Promise<boolean>, what: string, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function run(log: (line: string) => void, subscribers = Number(process.env.BENCH_SUBSCRIBERS ?? 10_000)): Promise<BenchResult[]> {
  // The limiter guards against abuse; here every request is the benchmark's own.
  // The key cache at its longest (1 s): the gateway checks keys without single-flight, so a
  // burst of subscribes on a cold entry would each ask the merchant subgraph.
  const stack = await startStack({ RATE_LIMIT_REQUESTS: 10_000_000, RATE_LIMIT_COST: 1_000_000_000, API_KEY_CACHE_MS: 1000 });
  const results: BenchResult[] = [];
  try {
    const m = await stack.newMerchant('Bench shop');
    const identity = { kind: 'merchant' as const, merchantId: m.id, keyId: m.keyId, scopes: [...API_SCOPES] };
    const paymentUrl = stack.subgraphs.payment.url;
    let n = 0;
    const input = () => ({ coinId: 'dev-evm:ETH', amount: '0.1', orderId: `bench-${n++}` });
    const viaGateway = async () => {
      const res = await gql(stack.url, CREATE, { i: input() }, m.secret);
      if (!res.data?.createPayment) throw new Error(`gateway: ${JSON.stringify(res.errors)}`);
    };
    const direct = async () => {
      const payload = JSON.stringify({ query: CREATE, variables: { i: input() } });
      const res = await fetch(paymentUrl, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...signRequest(identity, { method: 'POST', subgraph: 'payment', body: payload }, stack.env.gatewaySecret),
        },
        body: payload,
      });
      const body = (await res.json()) as { data?: { createPayment?: unknown }; errors?: unknown };
      if (!body.data?.createPayment) throw new Error(`direct: ${JSON.stringify(body.errors)}`);
    };

    // Warm-up: connection pools, query plans, the key cache.
    await throughput(40, viaGateway);
    await throughput(40, direct);
    const gw: number[] = [];
    const dr: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      gw.push(await throughput(ROUND, viaGateway));
      dr.push(await throughput(ROUND, direct));
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const ratio = mean(gw) / mean(dr);
    log(`createPayment: gateway ${mean(gw).toFixed(0)}/s vs direct ${mean(dr).toFixed(0)}/s (${ROUNDS}x${ROUND} each, ${CONCURRENCY} in flight)`);
    results.push({ name: 'createPayment/s gateway vs direct', ratio, goal: 0.6, detail: `${mean(gw).toFixed(0)}/s vs ${mean(dr).toFixed(0)}/s` });

    // Subscriptions: one payment, many subscribers.
    const created = await gql(stack.url, CREATE, { i: { coinId: 'dev-evm:ETH', amount: '1' } }, m.secret);
    const paymentId = (created.data as { createPayment: { id: string } }).createPayment.id;
    const before = memory();
    const child = fork(path.join(__dirname, 'subscribers.mjs'), [stack.url, m.secret, paymentId, String(subscribers), String(PER_CONNECTION)], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const ask = (msg: string) =>
      new Promise<any>((resolve) => {
        child.once('message', resolve);
        child.send(msg);
      });
    await new Promise((resolve) => child.once('message', resolve));
    const opened = Date.now();
    await waitFor(
      async () => {
        const r = await ask('report');
        if (r.errors) throw new Error(`${r.errors} subscriptions failed, e.g. ${r.firstError}`);
        return stack.gateway.liveSubscriptions() >= subscribers;
      },
      `${subscribers} subscriptions (${stack.gateway.liveSubscriptions()} live)`,
      120_000,
    );
    log(`subscriptions: ${subscribers} live after ${((Date.now() - opened) / 1000).toFixed(1)} s`);
    const fanout = async () => {
      await ask('reset');
      await stack.gateway.bus.nc.flush();
      const t0 = Date.now();
      await stack.bus.publish(
        'payment.updated',
        { paymentId, merchantId: m.id, checkoutTokenHash: createHash('sha256').update('bench').digest('hex'), event: 'bench', status: 'PENDING' },
        { id: randomUUID(), key: paymentId },
      );
      let report: { received: number; first: number; last: number; errors: number; firstError?: string } = { received: 0, first: 0, last: 0, errors: 0 };
      await waitFor(
        async () => {
          report = await ask('report');
          return report.received + report.errors >= subscribers;
        },
        'every subscriber to get the event',
        300_000,
      );
      return { ...report, firstMs: report.first - t0, lastMs: report.last - t0 };
    };
    // The first event also waits behind the subscribe-time visibility reads still queued (the
    // gateway counts a subscriber as live before that read): it warms up, the second is measured.
    const warm = await fanout();
    log(`fan-out (warm-up): all ${warm.received} after ${warm.lastMs} ms, ${warm.errors} errors`);
    await new Promise((r) => setTimeout(r, 1000));
    const after = memory();
    const heapPer = (after.heap - before.heap) / subscribers;
    const rssPer = (after.rss - before.rss) / subscribers;
    log(`subscriptions: ${(heapPer / 1024).toFixed(1)} KB heap, ${(rssPer / 1024).toFixed(1)} KB RSS per subscription`);
    results.push({
      name: `memory per subscription (${subscribers})`,
      ratio: MEMORY_BUDGET_BYTES / Math.max(heapPer, 1),
      goal: 1,
      detail: `${(heapPer / 1024).toFixed(1)} KB heap, ${(rssPer / 1024).toFixed(1)} KB RSS; budget ${MEMORY_BUDGET_BYTES / 1024} KB`,
    });

    const f = await fanout();
    if (f.errors) log(`fan-out: ${f.errors} errors, first: ${f.firstError}`);
    log(`fan-out: first subscriber after ${f.firstMs} ms, all ${f.received} after ${f.lastMs} ms`);
    results.push({
      name: `fan-out of one event to ${subscribers}`,
      ratio: FANOUT_BUDGET_MS / Math.max(f.lastMs, 1),
      goal: 1,
      detail: `first ${f.firstMs} ms, last ${f.lastMs} ms (${(f.received / (f.lastMs / 1000)).toFixed(0)} deliveries/s); budget ${FANOUT_BUDGET_MS} ms`,
    });
    const exited = new Promise((r) => child.once('exit', r));
    child.send('stop');
    await exited;
  } finally {
    await stack.stop();
  }
  return results;
}

if (require.main === module) {
  const count = process.argv[2] ? Number(process.argv[2]) : undefined;
  run((l) => console.log(l), count)
    .then((rows) => {
      for (const r of rows) console.log(`${r.name.padEnd(44)} ${r.ratio.toFixed(2).padStart(6)} (goal ${r.goal})  ${r.detail}`);
      process.exit(0);
    })
    .catch((err) => {
      console.error(err);
      process.exit(1);
    });
}
