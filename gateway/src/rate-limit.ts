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

/**
 * Token bucket per caller (API key id, operator, or client IP for anonymous calls): `capacity`
 * units, refilled evenly over `windowMs`. A unit is whatever the caller charges (one request,
 * or a query's cost). Per replica; a shared limit across replicas would need NATS KV and is not
 * worth its latency here.
 */
export class RateLimiter {
  private readonly buckets: LruMap<string, { tokens: number; at: number }>;

  constructor(
    readonly capacity: number,
    private readonly windowMs: number,
    maxKeys = 50_000,
  ) {
    this.buckets = new LruMap(maxKeys);
  }

  private refilled(key: string, now: number) {
    const b = this.buckets.get(key) ?? { tokens: this.capacity, at: now };
    b.tokens = Math.min(this.capacity, b.tokens + Math.max(0, now - b.at) * (this.capacity / this.windowMs));
    b.at = now;
    this.buckets.set(key, b);
    return b;
  }

  /**
   * Takes `units` (at most the capacity: a charge above it could never be paid); returns 0 when
   * allowed, else the milliseconds until that many are available. A refused charge takes nothing.
   */
  take(key: string, units = 1, now = Date.now()): number {
    const need = Math.min(Math.max(units, 0), this.capacity);
    const b = this.refilled(key, now);
    if (b.tokens >= need) {
      b.tokens -= need;
      return 0;
    }
    return Math.ceil((need - b.tokens) / (this.capacity / this.windowMs));
  }

  /** Milliseconds until one unit is available (0: now), without taking any. */
  wait(key: string, now = Date.now()): number {
    const b = this.buckets.peek(key);
    if (!b) return 0;
    const tokens = Math.min(this.capacity, b.tokens + Math.max(0, now - b.at) * (this.capacity / this.windowMs));
    return tokens >= 1 ? 0 : Math.ceil((1 - tokens) / (this.capacity / this.windowMs));
  }

  /** Units left for `key` now (for tests and diagnostics). */
  remaining(key: string, now = Date.now()): number {
    const b = this.buckets.peek(key);
    if (!b) return this.capacity;
    return Math.min(this.capacity, b.tokens + Math.max(0, now - b.at) * (this.capacity / this.windowMs));
  }

  /** Callers tracked right now. */
  get size(): number {
    return this.buckets.size;
  }

  has(key: string): boolean {
    return this.buckets.has(key);
  }
}
