import { createHash, randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import { openLeaseBucket } from '@cpg/core/bus/lease';
import { countEvent } from '@cpg/core/http';
import type { Logger } from '@cpg/core/logger';
import type { Bus } from '@cpg/core/bus';

/** The KV bucket (without the namespace) where gateway replicas announce themselves (permissions.ts). */
export const REPLICA_BUCKET = 'gateway_replicas';
/** Old groups (a limit setting nobody runs any more) age out of the bucket after this long unwritten. */
const BUCKET_MAX_AGE_MS = 60 * 60 * 1000;
/** Compare-and-set attempts per heartbeat: replicas beating at the same moment retry on a fresh read. */
const CAS_ATTEMPTS = 5;

type Kv = Awaited<ReturnType<typeof openLeaseBucket>>;

/** The group's one KV value: each live replica's heartbeat counter. */
interface GroupDoc {
  members: Record<string, { beat: number; host?: string }>;
}

export interface ReplicaShareOptions {
  bus: Bus;
  namespace: string;
  /**
   * Replicas share a budget only with replicas enforcing the same limits (`limitsGroup`): during
   * a rollout that changes a limit, old and new settings each count their own replicas.
   */
  group: string;
  /** A replica whose heartbeat has not moved for this long is counted out. */
  ttlMs: number;
  /** Called with the replica count to divide the limits by (1: local limits), on every change. */
  onChange: (replicas: number) => void;
  log: Logger;
}

/** The group of replicas that enforce the same limits: a digest of the settings that make them. */
export function limitsGroup(limits: Record<string, number>): string {
  const canonical = Object.keys(limits)
    .sort()
    .map((k) => `${k}=${limits[k]}`)
    .join(';');
  return `limits_${createHash('sha256').update(canonical).digest('hex').slice(0, 16)}`;
}

/**
 * How many gateway replicas share the rate limits right now, so each can enforce its share.
 *
 * Why this design: the alternative, per-caller counters in NATS KV, puts a network round trip (or
 * a batched reconciliation with its own overshoot) on every request for every active caller, and
 * KV writes per caller per interval grow with traffic. Dividing by the live replica count costs
 * one small KV read and compare-and-set per replica every ttl/3, whatever the traffic, and
 * nothing on the request path. Its price: a caller whose requests all land on one replica (a
 * sticky balancer) gets limit/N, not the limit; with the round-robin or least-connections balancer
 * in front of stateless replicas, a caller's requests spread and the buckets add up to the limit.
 *
 * The membership is one KV key per group holding every replica's heartbeat counter, updated by
 * compare-and-set (the gateway's NATS user may get and put its bucket's keys, but not list them,
 * which would need a consumer). Liveness is judged on this replica's own monotonic clock: a
 * member is live while its counter keeps moving, and counted out (and removed from the value)
 * once it has not moved for the TTL. No wall clocks are compared, so clock skew between machines
 * cannot keep a dead replica alive or count out a live one.
 *
 * When KV cannot be reached, the last view holds for one TTL (a blip changes nothing); after that
 * this replica falls back to the whole limit on its own (as if alone): degraded to the per-process
 * limits, never unlimited and never refusing everyone. A replica that stops leaves the group at
 * once, so the others take its share back at their next heartbeat rather than after the TTL.
 */
export class ReplicaShare {
  readonly id = `${hostname().slice(0, 40)}-${process.pid}-${randomBytes(4).toString('hex')}`;
  private kv?: Kv;
  private beat = 0;
  /** Others' counters as last seen, and when (our monotonic clock) each last moved. */
  private readonly seen = new Map<string, { beat: number; movedAt: number }>();
  private lastOk = -Infinity;
  private count = 1;
  private degraded = false;
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;

  constructor(private readonly opts: ReplicaShareOptions) {}

  /** Live replicas of the group as this one sees them (1 while alone or degraded). */
  get replicas(): number {
    return this.count;
  }

  private get key(): string {
    return this.opts.group;
  }

  /**
   * Joins the group (waiting at most `waitMs` for the first heartbeat: a NATS without JetStream
   * must not stop the gateway from serving with local limits), then beats every ttl/3.
   */
  async start(waitMs = 2000): Promise<void> {
    const first = this.tick();
    await Promise.race([first, new Promise((r) => setTimeout(r, waitMs).unref())]);
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    // Jittered, so replicas started together do not collide on the compare-and-set every time.
    const every = this.opts.ttlMs / 3;
    this.timer = setTimeout(
      () => {
        // A heartbeat hanging on a JetStream timeout counts as failing once the view is stale.
        if (this.running && performance.now() - this.lastOk > this.opts.ttlMs) this.failed(new Error('heartbeat still waiting for NATS'));
        void this.tick();
        this.schedule();
      },
      every * (0.9 + Math.random() * 0.2),
    );
    this.timer.unref();
  }

  /** One heartbeat; never overlaps another, never throws. */
  private tick(): Promise<void> {
    this.running ??= this.heartbeat()
      .catch((err: unknown) => this.failed(err))
      .finally(() => (this.running = undefined));
    return this.running;
  }

  private async heartbeat(): Promise<void> {
    this.kv ??= await openLeaseBucket(this.opts.bus.nc, this.opts.namespace, REPLICA_BUCKET, BUCKET_MAX_AGE_MS, this.opts.bus.replicas);
    for (let attempt = 1; ; attempt++) {
      const entry = await this.kv.get(this.key);
      const doc = entry?.operation === 'PUT' ? parseDoc(entry.value) : { members: {} };
      const now = performance.now();
      const live = this.observe(doc, now);
      const next: GroupDoc = { members: { ...live, [this.id]: { beat: this.beat + 1, host: hostname().slice(0, 64) } } };
      try {
        const data = new TextEncoder().encode(JSON.stringify(next));
        if (entry) await this.kv.update(this.key, data, entry.revision);
        else await this.kv.create(this.key, data);
      } catch (err) {
        // Another replica wrote between our read and write: read again.
        if (attempt < CAS_ATTEMPTS && isSequenceConflict(err)) continue;
        throw err;
      }
      this.beat++;
      this.lastOk = performance.now();
      if (this.degraded) this.opts.log.info({ group: this.key }, 'rate limits: replica heartbeats are back; sharing the limits again');
      this.degraded = false;
      this.apply(Object.keys(next.members).length);
      return;
    }
  }

  /** Records who moved since the last read; returns the members still live (ourselves excluded). */
  private observe(doc: GroupDoc, now: number): GroupDoc['members'] {
    const live: GroupDoc['members'] = {};
    for (const [id, m] of Object.entries(doc.members)) {
      if (id === this.id) continue;
      const prev = this.seen.get(id);
      // First sight counts as a move: a replica we have just met is given a full TTL.
      if (!prev || prev.beat !== m.beat) this.seen.set(id, { beat: m.beat, movedAt: now });
      if (now - this.seen.get(id)!.movedAt <= this.opts.ttlMs) live[id] = m;
    }
    for (const id of this.seen.keys()) if (!(id in live)) this.seen.delete(id);
    return live;
  }

  private failed(err: unknown): void {
    if (this.stopped) return;
    const stale = performance.now() - this.lastOk > this.opts.ttlMs;
    if (stale && !this.degraded) {
      this.degraded = true;
      countEvent('gateway.rate_limit.local_fallback');
      this.opts.log.warn(
        { group: this.key, err: (err as Error).message },
        'rate limits: cannot reach the replica registry in NATS KV; enforcing the whole limits in this replica alone',
      );
      this.apply(1);
    } else if (!stale) {
      this.opts.log.debug({ err: (err as Error).message }, 'rate limits: replica heartbeat failed; keeping the last view');
    }
  }

  private apply(n: number): void {
    if (n === this.count) return;
    this.opts.log.info({ group: this.key, replicas: n, was: this.count }, `rate limits: ${n} replica(s) share the limits`);
    this.count = n;
    this.opts.onChange(n);
  }

  /** Stops beating and leaves the group (bounded by `waitMs`: a NATS that is down must not hold up shutdown). */
  async stop(waitMs = 1000): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    const leave = (async () => {
      await this.running?.catch(() => undefined);
      if (!this.kv || this.beat === 0) return;
      for (let attempt = 1; attempt <= CAS_ATTEMPTS; attempt++) {
        const entry = await this.kv.get(this.key);
        if (entry?.operation !== 'PUT') return;
        const doc = parseDoc(entry.value);
        if (!(this.id in doc.members)) return;
        delete doc.members[this.id];
        try {
          await this.kv.update(this.key, new TextEncoder().encode(JSON.stringify(doc)), entry.revision);
          return;
        } catch (err) {
          if (!isSequenceConflict(err)) throw err;
        }
      }
    })();
    await Promise.race([leave.catch(() => undefined), new Promise((r) => setTimeout(r, waitMs).unref())]);
  }
}

function parseDoc(value: Uint8Array): GroupDoc {
  try {
    const doc = JSON.parse(new TextDecoder().decode(value)) as GroupDoc;
    if (doc && typeof doc.members === 'object' && doc.members !== null) {
      const members: GroupDoc['members'] = {};
      for (const [id, m] of Object.entries(doc.members)) if (typeof m?.beat === 'number') members[id] = m;
      return { members };
    }
  } catch {
    // A value we cannot read is rewritten by the next heartbeat: the live replicas re-add themselves.
  }
  return { members: {} };
}

/** JetStream's "wrong last sequence" (10071): the compare-and-set lost a race. */
function isSequenceConflict(err: unknown): boolean {
  const e = err as { api_error?: { err_code?: number }; message?: string };
  return e?.api_error?.err_code === 10071 || /wrong last sequence|key exists/i.test(e?.message ?? '');
}
