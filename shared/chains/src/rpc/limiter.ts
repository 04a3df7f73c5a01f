import { ChainError } from '../types';

interface Waiter {
  grant: (release: () => void) => void;
  reject: (err: unknown) => void;
}

/**
 * Caps the requests a pool has in flight; callers beyond the cap wait in FIFO order. Nodes have
 * small RPC work queues (Bitcoin Core answers 503 past 16) and providers rate-limit bursts, so a
 * busy watcher must queue here rather than get errors there.
 */
export class Limiter {
  private active = 0;
  private readonly waiters: Waiter[] = [];
  private closedWith: Error | null = null;

  constructor(
    readonly max: number,
    readonly maxQueue: number = Number.POSITIVE_INFINITY,
  ) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`maxConcurrency must be a whole number >= 1, got ${max}`);
  }

  /** Read by health snapshots at any time. */
  get inFlight(): number {
    return this.active;
  }

  /** Read by health snapshots at any time. */
  get queued(): number {
    return this.waiters.length;
  }

  /**
   * Called before each HTTP request. Resolves with a release function (idempotent: extra calls are
   * ignored) once a slot is free; rejects if the queue is full, the signal aborts or the limiter
   * closes first.
   */
  acquire(signal?: AbortSignal): Promise<() => void> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.active < this.max) return Promise.resolve(this.take());
    if (this.waiters.length >= this.maxQueue) {
      return Promise.reject(new ChainError(`rpc queue full (${this.maxQueue} waiting, ${this.max} in flight)`, true));
    }
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        const at = this.waiters.indexOf(waiter);
        if (at >= 0) this.waiters.splice(at, 1);
        reject(signal!.reason);
      };
      const waiter: Waiter = {
        grant: (release) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(release);
        },
        reject: (err) => {
          signal?.removeEventListener('abort', onAbort);
          reject(err);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  /** Called when the pool closes: every waiter is rejected with `err`, later acquires too. Idempotent. */
  close(err: Error): void {
    if (this.closedWith) return;
    this.closedWith = err;
    for (const waiter of this.waiters.splice(0)) waiter.reject(err);
  }

  private take(): () => void {
    this.active++;
    return this.releaser();
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiters.shift();
      // The slot passes straight to the next waiter, so a newcomer cannot overtake the queue.
      if (next) next.grant(this.releaser());
      else this.active--;
    };
  }
}
