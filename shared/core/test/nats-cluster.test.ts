import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Bus } from '../src/bus';
import { Lease } from '../src/bus/lease';
import { type NatsClusterHandle, generateCredentials, startNatsCluster } from '@cpg/devkit/services';
import { createLogger } from '../src/logger';

// A real three-node JetStream cluster: the stream and the lease buckets keep three copies, so a
// node killed with SIGKILL (the stream's leader, the worst one) loses no event and no lease.
jest.setTimeout(120_000);

const namespace = `tc_${randomUUID().slice(0, 8).replace(/-/g, '')}`;
const credentials = generateCredentials();
const log = createLogger('nats-cluster-test', 'silent');
let dir: string;
let cluster: NatsClusterHandle;
let bus: Bus;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'cpg-nats-cluster-'));
  cluster = await startNatsCluster({ storeDir: dir, auth: { namespace, credentials } });
  bus = await Bus.connect({ url: cluster.url, namespace, name: 'cluster-test', log, user: 'admin', pass: credentials.admin, replicas: 3 });
});

afterAll(async () => {
  await bus?.close().catch(() => undefined);
  await cluster?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** fn until it resolves (errors retried every 200 ms), failing with the last error after timeoutMs. */
async function retry<T>(fn: () => Promise<T> | T, timeoutMs: number): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > until) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

async function publishWithRetry(i: number, ids: string[]): Promise<void> {
  const id = randomUUID();
  ids.push(id);
  // While a new leader is elected a publish can time out; the outbox retries the same way, and the
  // stream's duplicate window makes a publish that did land count once.
  await retry(() => bus.publish('merchant.created', { merchantId: randomUUID(), name: `m${i}` }, { id, key: `k${i}` }), 30_000);
}

it('keeps three copies of the stream and the lease bucket and loses nothing when the leader node is killed', async () => {
  const info = await bus.jsm.streams.info(bus.streamName);
  expect(info.config.num_replicas).toBe(3);
  expect(info.cluster?.replicas?.length).toBe(2);

  const lease = await Lease.open({ nc: bus.nc, namespace, bucket: 'test_leases', key: 'k', holder: 'h1', ttlMs: 3000, replicas: 3, log });
  await lease.start();
  expect(lease.isHeld).toBe(true);
  const kvInfo = await bus.jsm.streams.info(`KV_${namespace}_test_leases`);
  expect(kvInfo.config.num_replicas).toBe(3);

  const seen = new Map<string, number>();
  await bus.consume({
    durable: 'cluster_test',
    types: ['merchant.created'],
    retryBaseMs: 50,
    handler: async (event) => {
      seen.set(event.id, (seen.get(event.id) ?? 0) + 1);
    },
  });

  const ids: string[] = [];
  for (let i = 0; i < 40; i++) await publishWithRetry(i, ids);
  const leaderName = info.cluster?.leader ?? '';
  const leader = cluster.nodes[Number(leaderName.replace(/^n/, '')) - 1];
  expect(leader).toBeDefined();
  await leader!.kill();
  for (let i = 40; i < 80; i++) await publishWithRetry(i, ids);

  await retry(() => expect(ids.filter((id) => !seen.has(id))).toEqual([]), 60_000);
  const after = await retry(() => bus.jsm.streams.info(bus.streamName), 30_000);
  expect(after.cluster?.leader).not.toBe(leaderName);
  expect(after.state.messages).toBe(80);
  // The lease is still readable (two of three copies) and still ours.
  const renewed = await retry(async () => {
    const kv = await bus.nc.jetstream().views.kv(`${namespace}_test_leases`);
    const entry = await kv.get('k');
    if (entry?.string() !== 'h1') throw new Error(`lease holder ${entry?.string()}`);
    return entry.string();
  }, 30_000);
  expect(renewed).toBe('h1');
  await lease.stop();

  // The killed node comes back and catches up: the stream has its three copies again.
  await leader!.start();
  await retry(async () => {
    const now = await bus.jsm.streams.info(bus.streamName);
    const lagging = (now.cluster?.replicas ?? []).filter((r) => !r.current);
    if ((now.cluster?.replicas ?? []).length !== 2 || lagging.length) throw new Error('a replica is not current yet');
  }, 60_000);
});
