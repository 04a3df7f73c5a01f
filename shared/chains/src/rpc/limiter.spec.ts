import { ChainError } from '../types';
import { Limiter } from './limiter';

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('Limiter', () => {
  it('grants up to max at once and queues the rest in order', async () => {
    const limiter = new Limiter(2);
    const order: number[] = [];
    const releases = await Promise.all([limiter.acquire(), limiter.acquire()]);
    const waiting = [3, 4, 5].map((n) => limiter.acquire().then((release) => (order.push(n), release)));
    await tick();
    expect(limiter.inFlight).toBe(2);
    expect(limiter.queued).toBe(3);
    releases[0]!();
    await tick();
    expect(order).toEqual([3]);
    expect(limiter.inFlight).toBe(2);
    releases[1]!();
    releases[1]!(); // a second release of the same slot is ignored
    await tick();
    expect(order).toEqual([3, 4]);
    expect(limiter.inFlight).toBe(2);
    (await waiting[0]!)();
    await tick();
    expect(order).toEqual([3, 4, 5]);
    (await waiting[1]!)();
    (await waiting[2]!)();
    expect(limiter.inFlight).toBe(0);
    expect(limiter.queued).toBe(0);
  });

  it('drops an aborted waiter from the queue', async () => {
    const limiter = new Limiter(1);
    const release = await limiter.acquire();
    const ctl = new AbortController();
    const aborted = limiter.acquire(ctl.signal);
    const next = limiter.acquire();
    ctl.abort(new Error('gave up'));
    await expect(aborted).rejects.toThrow('gave up');
    expect(limiter.queued).toBe(1);
    release();
    (await next)();
    expect(limiter.inFlight).toBe(0);
  });

  it('fails fast when the queue is full', async () => {
    const limiter = new Limiter(1, 1);
    await limiter.acquire();
    void limiter.acquire();
    const err = await limiter.acquire().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChainError);
    expect((err as ChainError).transient).toBe(true);
  });

  it('rejects waiters and later callers once closed', async () => {
    const limiter = new Limiter(1);
    await limiter.acquire();
    const waiting = limiter.acquire();
    limiter.close(new Error('closed'));
    await expect(waiting).rejects.toThrow('closed');
    await expect(limiter.acquire()).rejects.toThrow('closed');
  });

  it('rejects a nonsensical limit', () => {
    expect(() => new Limiter(0)).toThrow(RangeError);
    expect(() => new Limiter(1.5)).toThrow(RangeError);
  });
});
