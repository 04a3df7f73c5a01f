import type { KV, NatsConnection } from 'nats';
import type { Logger } from '@cpg/core/logger';

export interface LeaseOptions {
  nc: NatsConnection;
  namespace: string;
  /** One key per network: one active tracker per network. */
  network: string;
  /** Who we are, stored as the value so operators can see the holder. */
  holder: string;
  /** Lifetime of a lease nobody renews: how long a dead holder blocks its successor. */
  ttlMs: number;
  log: Logger;
}

/** The bucket's max age is the lease TTL; every tracker of a namespace shares it. */
export async function openLeaseBucket(nc: NatsConnection, namespace: string, ttlMs: number): Promise<KV> {
  return nc.jetstream().views.kv(`${namespace}_tracker_leases`, { ttl: ttlMs, history: 1 });
}

/**
 * A lease in NATS KV: created only when no live entry exists (create fails on an existing key),
 * renewed by compare-and-set on our revision every third of the TTL. A holder that dies stops
 * renewing; the entry ages out of the bucket after the TTL and a waiting instance's create wins.
 */
export class NetworkLease {
  private revision = 0;
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private held = false;
  private readonly listeners: ((held: boolean) => void)[] = [];

  private constructor(
    private readonly kv: KV,
    private readonly opts: LeaseOptions,
  ) {}

  static async open(opts: LeaseOptions): Promise<NetworkLease> {
    return new NetworkLease(await openLeaseBucket(opts.nc, opts.namespace, opts.ttlMs), opts);
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

  /** Starts trying to acquire, then renewing. Called once. */
  start(): void {
    this.stopped = false;
    void this.tick();
  }

  /** Called at shutdown: stops renewing and frees the key so a successor need not wait the TTL. Idempotent. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.held) {
      this.setHeld(false);
      // Only our own revision is deleted: a successor's entry stays.
      await this.kv.delete(this.opts.network, { previousSeq: this.revision }).catch(() => undefined);
    }
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    const value = new TextEncoder().encode(this.opts.holder);
    try {
      if (this.held) {
        this.revision = await this.kv.update(this.opts.network, value, this.revision);
      } else {
        this.revision = await this.kv.create(this.opts.network, value);
        this.opts.log.info({ network: this.opts.network, holder: this.opts.holder }, 'lease acquired');
        this.setHeld(true);
      }
    } catch (err) {
      if (this.held) {
        // Renewal failed: someone else holds it now, or NATS is unreachable past our TTL. Either
        // way we must stop scanning; we try to acquire again like any waiting instance.
        this.opts.log.warn({ network: this.opts.network, err: (err as Error).message }, 'lease lost');
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
