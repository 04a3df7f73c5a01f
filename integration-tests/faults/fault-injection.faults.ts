import { prng } from '@cpg/devkit/testing/prng';
import { verify, settle } from './support/checks';
import { FAULTS } from './support/faults';
import { Load, sleep } from './support/load';
import { type World, startWorld } from './support/world';

/**
 * `npm run test:faults`: the replicated topology under a steady load of payments (EVM and LTC),
 * withdrawals, sweeps, webhook deliveries and live subscriptions, while every fault below is
 * injected in a seeded order (FAULTS_SEED, default 18: the same seed, the same order and the same
 * load). Then: every payment credited exactly once, the ledger's invariants hold, every merchant
 * and coin reconciles to 0 with the chain, no withdrawal paid twice on chain, every webhook
 * delivered, every live subscription ended on its payment's final status.
 */
jest.setTimeout(40 * 60_000);

const SEED = Number(process.env.FAULTS_SEED ?? 18);
const out = (line: string) => process.stdout.write(`${line}\n`);
let world: World | undefined;
let load: Load | undefined;

afterAll(async () => {
  await load?.dispose();
  await world?.stop();
});

it('injects every fault under load and loses nothing', async () => {
  const t0 = Date.now();
  const at = () => `${Math.round((Date.now() - t0) / 1000)} s`;
  out(`faults: seed ${SEED}; starting Postgres, the dev chains behind fault proxies, 3 NATS nodes and 2 of every service`);
  world = await startWorld(SEED, out);
  load = new Load(world);
  await load.setUp();
  load.start();
  out(`faults: load running (${at()})`);
  await sleep(5000);

  const rng = prng(BigInt(SEED));
  const order = [...FAULTS];
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  for (const [i, fault] of order.entries()) {
    const line = await fault.run(world, load, (n) => rng.int(n));
    out(`fault ${i + 1}/${order.length} ${fault.name}: ${line} (${at()})`);
    await world.cluster.waitHealthy(180_000);
    await sleep(3000);
  }
  await load.stop();
  out(`faults: load stopped after ${load.payments.length} payments and ${load.withdrawals.length} withdrawals; settling (${at()})`);
  await settle(world, load, 300_000);
  const v = await verify(world, load);
  for (const line of [
    ...v.lost.map((l) => `LOST ${l}`),
    ...v.doubleCredited.map((l) => `DOUBLE ${l}`),
    ...v.doubleSpent.map((l) => `SPENT TWICE ${l}`),
    ...v.problems,
  ])
    out(`  ${line}`);
  const [ws] = await world.sql<{ confirmed: number; failed: number }>(
    `select count(*) filter (where status = 'CONFIRMED')::int as confirmed, count(*) filter (where status = 'FAILED')::int as failed from withdrawal.withdrawals`,
  );
  const [hooks] = await world.sql<{ delivered: number; retried: number }>(
    `select count(*) filter (where status = 'DELIVERED')::int as delivered, count(*) filter (where attempts > 1)::int as retried from merchant.webhook_deliveries`,
  );
  const [steps] = await world.sql<{ n: number }>(`select count(*)::int as n from collector.steps where status = 'CONFIRMED'`);
  out(
    `faults: withdrawals ${ws!.confirmed} confirmed, ${ws!.failed} failed with nothing sent; ${steps!.n} sweep and top-up steps confirmed; ` +
      `webhooks ${hooks!.delivered} delivered (${hooks!.retried} after retries); ${load.payments.filter((p) => p.seen.length).length} live subscriptions followed to the end`,
  );
  if (load.errors.length) out(`  load errors (retried or ended): ${load.errors.length}; first: ${load.errors.slice(0, 3).join(' | ')}`);
  out(
    `faults: ${order.length} injected, ${v.payments} payments, ${v.lost.length} lost, ${v.doubleCredited.length} double-credited, ${v.doubleSpent.length} double-spent`,
  );

  expect(v.payments).toBeGreaterThan(0);
  expect(load.withdrawals.length).toBeGreaterThan(0);
  expect({ lost: v.lost, doubleCredited: v.doubleCredited, doubleSpent: v.doubleSpent, problems: v.problems }).toEqual({
    lost: [],
    doubleCredited: [],
    doubleSpent: [],
    problems: [],
  });
});
