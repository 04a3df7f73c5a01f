// Two collector replicas (issue 18): only the lease holder plans and advances sweeps; when it
// stops, the other takes over within the lease TTL. Real Postgres and NATS (KV), no chains needed.
import { createTestEnv, eventually, type TestEnv } from '@cpg/devkit/testing';
import { type RunningCollector, startCollectorWorker } from '../src/worker';

jest.setTimeout(60_000);

let env: TestEnv;
const running: RunningCollector[] = [];

beforeAll(async () => {
  env = await createTestEnv();
});
afterAll(async () => {
  for (const c of running) await c.stop().catch(() => undefined);
  await env?.cleanup();
});

async function replica(): Promise<RunningCollector> {
  const c = await startCollectorWorker(env.workerConfig(env.natsAuth('collector')), { networks: [], leaseTtlMs: 900, tickMs: 50, catchUpMs: 0, log: env.log });
  running.push(c);
  return c;
}

it('only the lease holder plans; the other takes over when it stops', async () => {
  const first = await replica();
  const second = await replica();
  expect([first.isActive(), second.isActive()]).toEqual([true, false]);

  const plannedBy = (c: RunningCollector) => jest.spyOn(c.collector, 'candidates');
  const firstPlans = plannedBy(first);
  const secondPlans = plannedBy(second);
  await new Promise((r) => setTimeout(r, 400));
  await second.tick(true);
  expect(firstPlans).toHaveBeenCalled();
  expect(secondPlans).not.toHaveBeenCalled();

  // A clean stop frees the lease at once; the waiting replica's next attempt (every TTL/3) wins it.
  await first.stop();
  await eventually(async () => second.isActive(), 'the second replica to take the lease', 5_000);
  await eventually(async () => secondPlans.mock.calls.length > 0, 'the second replica to plan', 5_000);
});
