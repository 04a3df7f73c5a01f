/**
 * A push-fed async iterator whose `return()` takes effect at once. An async generator cannot be
 * used here: its `return()` waits until the body reaches a `yield`, so a subscriber that leaves
 * while no event is coming would keep its NATS subscription until the next event (maybe never).
 */
export class EventStream<T> implements AsyncIterableIterator<T> {
  private readonly buffer: T[] = [];
  private waiter: { resolve: (r: IteratorResult<T>) => void; reject: (err: unknown) => void } | undefined;
  private closed = false;
  private failure: unknown;
  private readonly cleanups: (() => void)[] = [];

  /** Events beyond `capacity` waiting to be served drop the oldest: each one only triggers a re-read. */
  constructor(private readonly capacity = 100) {}

  get isClosed(): boolean {
    return this.closed;
  }

  /** Runs once when the stream ends, however it ends (client left, socket closed, error). */
  onClose(fn: () => void): void {
    if (this.closed) fn();
    else this.cleanups.push(fn);
  }

  push(value: T): void {
    if (this.closed) return;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w.resolve({ value, done: false });
      return;
    }
    if (this.buffer.length >= this.capacity) this.buffer.shift();
    this.buffer.push(value);
  }

  /** Ends the stream; with an error, the consumer's pending or next `next()` rejects with it. */
  end(error?: unknown): void {
    if (this.closed) return;
    this.closed = true;
    this.failure = error;
    for (const fn of this.cleanups.splice(0)) {
      try {
        fn();
      } catch {
        // A failing cleanup must not keep the others from running.
      }
    }
    const w = this.waiter;
    this.waiter = undefined;
    if (!w) return;
    if (error !== undefined) {
      this.failure = undefined;
      w.reject(error);
    } else w.resolve({ value: undefined, done: true });
  }

  next(): Promise<IteratorResult<T>> {
    if (this.buffer.length) return Promise.resolve({ value: this.buffer.shift()!, done: false });
    if (this.closed) {
      const err = this.failure;
      this.failure = undefined;
      return err !== undefined ? Promise.reject(err) : Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  return(): Promise<IteratorResult<T>> {
    this.buffer.length = 0;
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(error?: unknown): Promise<IteratorResult<T>> {
    this.buffer.length = 0;
    this.end();
    return Promise.reject(error);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

/** One upstream feed as `SharedFeeds` opens it: whatever delivers messages for one subject. */
export interface FeedHandle {
  close(): void;
}

/**
 * Refcounted fan-out: however many listeners one key has, one upstream feed serves them all; it
 * is opened with the first listener and closed with the last. Subscribers of one payment then
 * cost the message broker one subscription per gateway process, not one per browser tab.
 */
export class SharedFeeds<M> {
  private readonly feeds = new Map<string, { handle: FeedHandle; listeners: Set<(m: M) => void>; fail: Set<(err: unknown) => void> }>();

  /**
   * `open` starts the upstream feed for `key`; it calls `deliver` per message and `fail` when the
   * feed breaks (every listener of the key is then told, and the next listener opens a new feed).
   */
  constructor(private readonly open: (key: string, deliver: (m: M) => void, fail: (err: unknown) => void) => FeedHandle) {}

  /** Upstream feeds currently open. */
  get size(): number {
    return this.feeds.size;
  }

  /** Listeners across all feeds. */
  get listeners(): number {
    let n = 0;
    for (const f of this.feeds.values()) n += f.listeners.size;
    return n;
  }

  /** Adds a listener; the returned function removes it (idempotent). */
  listen(key: string, onMessage: (m: M) => void, onFail: (err: unknown) => void): () => void {
    let feed = this.feeds.get(key);
    if (!feed) {
      const created = { handle: undefined as unknown as FeedHandle, listeners: new Set<(m: M) => void>(), fail: new Set<(err: unknown) => void>() };
      this.feeds.set(key, created);
      try {
        created.handle = this.open(
          key,
          (m) => {
            // A copy: a listener that leaves while being served must not skip its neighbour.
            for (const l of [...created.listeners]) {
              try {
                l(m);
              } catch {
                // One subscriber's fault stays its own.
              }
            }
          },
          (err) => {
            if (this.feeds.get(key) === created) this.feeds.delete(key);
            const failing = [...created.fail];
            created.listeners.clear();
            created.fail.clear();
            for (const f of failing) f(err);
          },
        );
      } catch (err) {
        this.feeds.delete(key);
        throw err;
      }
      feed = created;
    }
    const f = feed;
    f.listeners.add(onMessage);
    f.fail.add(onFail);
    return () => {
      const had = f.listeners.delete(onMessage);
      f.fail.delete(onFail);
      if (had && f.listeners.size === 0 && this.feeds.get(key) === f) {
        this.feeds.delete(key);
        f.handle.close();
      }
    };
  }
}
