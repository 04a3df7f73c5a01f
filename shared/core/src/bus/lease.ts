import type { KV, NatsConnection } from 'nats';
import type { Logger } from '../logger';

/**
 * One active instance among replicas: the tracker holds one lease per network (one scan loop per
 * chain), the collector one for all its planning (two planners would race for the same coins).
 */
export interface LeaseOptions {
  nc: NatsConnection;
  namespace: string;
  /** The KV bucket, without the namespace (`tracker_leases`); its user must own it (permissions.ts). */
  bucket: string;
  /** What is leased: one holder per key (a network id, or `collector`). */
  key: string;
  /** Who we are, stored as the value so operators can see the holder. */
  holder: string;
  /** Lifetime of a lease nobody renews: how long a dead holder blocks its successor. */
  ttlMs: number;
  log: Logger;
  /** Copies of the bucket (the bus's NATS_REPLICAS): a lease must outlive one cluster node. */
  replicas?: number;
}

/**
 * The bucket's max age is the lease TTL; every holder of a namespace shares it. `replicas` applies
 * when the bucket is created (the first holder); operators raise an existing one with `nats kv`.
 */
export async function openLeaseBucket(nc: NatsConnection, namespace: string, bucket: string, ttlMs: number, replicas = 1): Promise<KV> {
  return nc.jetstream().views.kv(`${namespace}_${bucket}`, { ttl: ttlMs, history: 1, replicas });
}

/**
 * A lease in NATS KV: created only when no live entry exists (create fails on an existing key),
 * renewed by compare-and-set on our revision every third of the TTL. A holder that dies stops
 * renewing; the entry ages out of the bucket after the TTL and a waiting instance's create wins.
 */
export class Lease {
  private revision = 0;
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private held = false;
  private readonly listeners: ((held: boolean) => void)[] = [];

  private constructor(
    private readonly kv: KV,
    private readonly opts: LeaseOptions,
  ) {}

  static async open(opts: LeaseOptions): Promise<Lease> {
    return new Lease(await openLeaseBucket(opts.nc, opts.namespace, opts.bucket, opts.ttlMs, opts.replicas), opts);
  }

  get isHeld(): boolean {
    return this.held;
  }

  /**
   * Registers a listener, called with true when we gain the lease and false when we lose it
   * (only on changes, so listeners need not be idempotent). Register before start().
   */
  onChange(listener: (held: boolean) => void): void {
    this.listeners.push(listener);
  }

  /**
   * Starts trying to acquire, then renewing. Called once; resolves after the first attempt, so a
   * lone instance holds the lease when it returns (a waiting replica keeps trying in the background).
   */
  start(): Promise<void> {
    this.stopped = false;
    return this.tick();
  }

  /** Called at shutdown: stops renewing and frees the key so a successor need not wait the TTL. Idempotent. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.held) {
      this.setHeld(false);
      // Only our own revision is deleted: a successor's entry stays.
      await this.kv.delete(this.opts.key, { previousSeq: this.revision }).catch(() => undefined);
    }
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    const value = new TextEncoder().encode(this.opts.holder);
    try {
      if (this.held) {
        this.revision = await this.kv.update(this.opts.key, value, this.revision);
      } else {
        this.revision = await this.kv.create(this.opts.key, value);
        this.opts.log.info({ lease: `${this.opts.bucket}/${this.opts.key}`, holder: this.opts.holder }, 'lease acquired');
        this.setHeld(true);
      }
    } catch (err) {
      if (this.held) {
        // Renewal failed: someone else holds it now, or NATS is unreachable past our TTL. Either
        // way we must stop working; we try to acquire again like any waiting instance.
        this.opts.log.warn({ lease: `${this.opts.bucket}/${this.opts.key}`, err: (err as Error).message }, 'lease lost');
        this.setHeld(false);
      }
    }
    if (!this.stopped) this.timer = setTimeout(() => void this.tick(), Math.max(100, Math.floor(this.opts.ttlMs / 3)));
  }

  private setHeld(held: boolean): void {
    if (this.held === held) return;
    this.held = held;
    for (const l of this.listeners) l(held);
  }
}
