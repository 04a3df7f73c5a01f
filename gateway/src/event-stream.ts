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
