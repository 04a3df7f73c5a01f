import { Bus } from '@cpg/core/bus';
import { openLeaseBucket } from '@cpg/core/bus/lease';
import { counterSnapshot } from '@cpg/core/http';
import { createLogger } from '@cpg/core/logger';
import { type TestEnv, createTestEnv, eventually } from '@cpg/devkit/testing';
import { REPLICA_BUCKET, ReplicaShare, limitsGroup } from '../src/replica-share';

// Real NATS, under the gateway's own NATS user: the permission table must let a replica read and
// compare-and-set its group's key, and nothing here is a stand-in for our own code.
const TTL = 900;
const log = createLogger('replica-share-test', 'silent');
let env: TestEnv;
const buses: Bus[] = [];
const shares: ReplicaShare[] = [];

beforeAll(async () => {
  env = await createTestEnv();
});

afterAll(async () => {
  for (const s of shares) await s.stop(200);
  for (const b of buses) await b.close().catch(() => undefined);
  await env?.cleanup();
});

async function gatewayBus(): Promise<Bus> {
  const bus = await Bus.connect({ url: env.natsUrl, namespace: env.namespace, name: 'gateway', log, ...env.busAuth('gateway') });
  buses.push(bus);
  return bus;
}

/** One replica: its own connection (as the gateway user), its own share, the counts it was told. */
async function replica(group: string, bus?: Bus) {
  const told: number[] = [];
  const b = bus ?? (await gatewayBus());
  const share = new ReplicaShare({ bus: b, namespace: env.namespace, group, ttlMs: TTL, onChange: (n) => told.push(n), log });
  shares.push(share);
  await share.start();
  return { share, told, bus: b };
}

const groupA = limitsGroup({ requests: 10, cost: 1000, authFailures: 5, windowSeconds: 60 });

describe('ReplicaShare: live gateway replicas counted in NATS KV', () => {
  it('groups replicas by their limit settings, whatever order they are given in', () => {
    expect(limitsGroup({ windowSeconds: 60, authFailures: 5, cost: 1000, requests: 10 })).toBe(groupA);
    expect(limitsGroup({ requests: 11, cost: 1000, authFailures: 5, windowSeconds: 60 })).not.toBe(groupA);
    expect(groupA).toMatch(/^limits_[0-9a-f]{16}$/);
  });

  it('counts replicas of one group, keeps other groups apart, and gives a share back at once when one stops', async () => {
    const a = await replica(groupA);
    const b = await replica(groupA);
    const other = await replica(limitsGroup({ requests: 99, cost: 1, authFailures: 1, windowSeconds: 1 }));
    await eventually(async () => a.share.replicas === 2 && b.share.replicas === 2, 'both replicas to see two');
    expect(a.told).toEqual([2]);
    expect(other.share.replicas).toBe(1);

    const third = await replica(groupA);
    await eventually(async () => [a, b, third].every((r) => r.share.replicas === 3), 'three replicas');

    // A clean stop leaves the group: the others count it out at their next heartbeat, well
    // before the TTL would.
    const t0 = Date.now();
    await third.share.stop();
    await eventually(async () => a.share.replicas === 2 && b.share.replicas === 2, 'the stopped replica to be counted out', 5000, 20);
    expect(Date.now() - t0).toBeLessThan(TTL);
    await b.share.stop();
    await eventually(async () => a.share.replicas === 1, 'alone again', 5000, 20);
    expect(a.told).toEqual([2, 3, 2, 1]);
  });

  it('counts out a replica that dies without leaving after the TTL; the dead one falls back to its whole limits', async () => {
    const group = limitsGroup({ requests: 7, cost: 7, authFailures: 7, windowSeconds: 7 });
    const survivor = await replica(group);
    const doomed = await replica(group);
    await eventually(async () => survivor.share.replicas === 2 && doomed.share.replicas === 2, 'two replicas');
    const fallbacks = counterSnapshot()['gateway.rate_limit.local_fallback'] ?? 0;

    // Its NATS connection is gone (a crash or a partition as it sees it): no goodbye is written.
    const t0 = Date.now();
    await doomed.bus.nc.close();
    await eventually(async () => survivor.share.replicas === 1, 'the dead replica to be counted out', 10_000, 20);
    const countedOutAfter = Date.now() - t0;
    // Not before the TTL (a slow replica is not dropped at its first late beat), and not long after.
    expect(countedOutAfter).toBeGreaterThanOrEqual(TTL / 2);
    expect(countedOutAfter).toBeLessThan(TTL * 3);

    // The cut-off replica keeps its last view for a TTL, then enforces the whole limits alone:
    // degraded to per-process limits, never unlimited and never refusing everyone.
    await eventually(async () => doomed.share.replicas === 1, 'the cut-off replica to fall back', 10_000, 20);
    expect(doomed.told).toEqual([2, 1]);
    expect(counterSnapshot()['gateway.rate_limit.local_fallback']).toBe(fallbacks + 1);
  });

  it('takes a replica that was only slow back as soon as its heartbeat moves again', async () => {
    const group = limitsGroup({ requests: 8, cost: 8, authFailures: 8, windowSeconds: 8 });
    const a = await replica(group);
    // A foreign member written by hand (as the admin): it never beats, so it is counted for one TTL
    // and then pruned from the stored value too.
    const admin = await Bus.connect({ url: env.natsUrl, namespace: env.namespace, name: 'admin', log, ...env.busAuth('admin') });
    buses.push(admin);
    const kv = await openLeaseBucket(admin.nc, env.namespace, REPLICA_BUCKET, 60_000);
    const entry = (await kv.get(group))!;
    const doc = JSON.parse(new TextDecoder().decode(entry.value)) as { members: Record<string, { beat: number }> };
    doc.members.ghost = { beat: 1 };
    await kv.update(group, new TextEncoder().encode(JSON.stringify(doc)), entry.revision);
    await eventually(async () => a.share.replicas === 2, 'the ghost to be counted');
    await eventually(async () => a.share.replicas === 1, 'the ghost to be counted out', 10_000, 20);
    const stored = JSON.parse(new TextDecoder().decode((await kv.get(group))!.value)) as { members: Record<string, unknown> };
    expect(Object.keys(stored.members)).toEqual([a.share.id]);
  });
});
