/**
 * A Map that holds at most `max` entries and forgets the least recently used one first. A full
 * map never wipes itself: a flood of new keys (e.g. spoofed anonymous callers) only pushes out
 * the keys nobody has used for the longest time, never a caller that is active right now.
 */
export class LruMap<K, V> {
  private readonly map = new Map<K, V>();

  constructor(private readonly max: number) {
    if (!(max >= 1)) throw new Error('LruMap needs room for at least one entry');
  }

  get size(): number {
    return this.map.size;
  }

  /** Reads and marks as recently used. */
  get(key: K): V | undefined {
    const v = this.map.get(key);
    if (v === undefined) return undefined;
    // A Map iterates in insertion order: re-inserting moves the key to the young end.
    this.map.delete(key);
    this.map.set(key, v);
    return v;
  }

  /** Reads without marking as used. */
  peek(key: K): V | undefined {
    return this.map.get(key);
  }

  set(key: K, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    while (this.map.size > this.max) this.map.delete(this.map.keys().next().value as K);
  }

  delete(key: K): void {
    this.map.delete(key);
  }

  has(key: K): boolean {
    return this.map.has(key);
  }
}

/** A caller's bucket: its tokens at `at`, counted against the capacity `cap` of that moment. */
interface Bucket {
  tokens: number;
  at: number;
  cap: number;
}

/**
 * Token bucket per caller (API key id, operator, or client IP for anonymous calls): `capacity`
 * units, refilled evenly over `windowMs`. A unit is whatever the caller charges (one request,
 * or a query's cost).
 *
 * Buckets live in this process, so the request path never waits on the network. Replicas share
 * one limit by each enforcing its share of it (`shareAmong`, fed by replica-share.ts): with N
 * live replicas behind a load balancer that spreads a caller's requests, N buckets of limit/N
 * add up to the limit.
 */
export class RateLimiter {
  private readonly buckets: LruMap<string, Bucket>;
  private cap: number;

  constructor(
    /** The limit across all replicas; this process enforces `capacity`, its share of it. */
    readonly limit: number,
    private readonly windowMs: number,
    maxKeys = 50_000,
  ) {
    this.buckets = new LruMap(maxKeys);
    this.cap = limit;
  }

  /** Units this replica allows per window: its share of the limit. */
  get capacity(): number {
    return this.cap;
  }

  /**
   * Enforces limit/`replicas` from now on (at least 1 unit: a share below one request would refuse
   * every caller, which is failing closed). Buckets keep their fill level, not their tokens: a
   * caller who had used half its budget has used half of the new share too, so a replica that
   * joins or dies neither hands out fresh budgets nor empties anyone's.
   */
  shareAmong(replicas: number): void {
    const n = Number.isFinite(replicas) && replicas >= 1 ? Math.floor(replicas) : 1;
    this.cap = Math.max(1, this.limit / n);
  }

  /** Tokens of `b` at `now`: rescaled to the current capacity, then refilled. */
  private tokensOf(b: Bucket, now: number): number {
    const tokens = b.cap === this.cap ? b.tokens : (b.tokens * this.cap) / b.cap;
    return Math.min(this.cap, tokens + Math.max(0, now - b.at) * (this.cap / this.windowMs));
  }

  private refilled(key: string, now: number): Bucket {
    const old = this.buckets.get(key);
    const b = { tokens: old ? this.tokensOf(old, now) : this.cap, at: now, cap: this.cap };
    this.buckets.set(key, b);
    return b;
  }

  /**
   * Takes `units` (at most the capacity: a charge above it could never be paid); returns 0 when
   * allowed, else the milliseconds until that many are available. A refused charge takes nothing.
   */
  take(key: string, units = 1, now = Date.now()): number {
    const need = Math.min(Math.max(units, 0), this.cap);
    const b = this.refilled(key, now);
    if (b.tokens >= need) {
      b.tokens -= need;
      return 0;
    }
    return Math.ceil((need - b.tokens) / (this.cap / this.windowMs));
  }

  /** Milliseconds until one unit is available (0: now), without taking any. */
  wait(key: string, now = Date.now()): number {
    const b = this.buckets.peek(key);
    if (!b) return 0;
    const tokens = this.tokensOf(b, now);
    return tokens >= 1 ? 0 : Math.ceil((1 - tokens) / (this.cap / this.windowMs));
  }

  /** Units left for `key` now (for tests and diagnostics). */
  remaining(key: string, now = Date.now()): number {
    const b = this.buckets.peek(key);
    return b ? this.tokensOf(b, now) : this.cap;
  }

  /** Callers tracked right now. */
  get size(): number {
    return this.buckets.size;
  }

  has(key: string): boolean {
    return this.buckets.has(key);
  }
}
