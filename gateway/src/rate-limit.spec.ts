import { LruMap, RateLimiter } from './rate-limit';

describe('RateLimiter', () => {
  it('allows a burst up to capacity, then refuses with the wait', () => {
    const rl = new RateLimiter(3, 3000);
    expect([rl.take('k', 1, 0), rl.take('k', 1, 0), rl.take('k', 1, 0)]).toEqual([0, 0, 0]);
    expect(rl.take('k', 1, 0)).toBe(1000);
  });
  it('refills over time and keeps callers apart', () => {
    const rl = new RateLimiter(2, 2000);
    rl.take('a', 1, 0);
    rl.take('a', 1, 0);
    expect(rl.take('a', 1, 0)).toBeGreaterThan(0);
    expect(rl.take('b', 1, 0)).toBe(0);
    expect(rl.take('a', 1, 1000)).toBe(0);
    expect(rl.take('a', 1, 1000)).toBeGreaterThan(0);
  });
  it('never holds more than capacity after a long idle time', () => {
    const rl = new RateLimiter(2, 1000);
    rl.take('a', 1, 0);
    expect([rl.take('a', 1, 1e9), rl.take('a', 1, 1e9), rl.take('a', 1, 1e9)]).toEqual([0, 0, 500]);
  });
  it('charges by cost: an expensive request drains the bucket faster than a cheap one', () => {
    const rl = new RateLimiter(1000, 60_000);
    let cheap = 0;
    while (rl.take('cheap', 10, 0) === 0) cheap++;
    let dear = 0;
    while (rl.take('dear', 400, 0) === 0) dear++;
    expect(cheap).toBe(100);
    expect(dear).toBe(2);
    // A refused charge takes nothing: the 200 left still pay for a cheap request.
    expect(rl.remaining('dear', 0)).toBe(200);
    expect(rl.take('dear', 10, 0)).toBe(0);
  });
  it('caps a charge at the capacity, so an allowed maximum request can always be paid once full', () => {
    const rl = new RateLimiter(100, 1000);
    expect(rl.take('a', 5000, 0)).toBe(0);
    expect(rl.take('a', 5000, 0)).toBe(1000);
  });
  it('wait() reports without charging', () => {
    const rl = new RateLimiter(2, 2000);
    expect(rl.wait('a', 0)).toBe(0);
    rl.take('a', 2, 0);
    expect(rl.wait('a', 0)).toBe(1000);
    expect(rl.wait('a', 1000)).toBe(0);
    expect(rl.remaining('a', 1000)).toBe(1);
  });
  it('evicts the least recently used bucket when full, never wiping the others', () => {
    const rl = new RateLimiter(5, 60_000, 3);
    rl.take('drained', 5, 0);
    rl.take('b', 1, 0);
    rl.take('c', 1, 0);
    // "drained" is used again, so "b" is now the oldest.
    expect(rl.take('drained', 1, 1)).toBeGreaterThan(0);
    rl.take('d', 1, 2);
    expect(rl.size).toBe(3);
    expect(rl.has('b')).toBe(false);
    expect(rl.has('drained')).toBe(true);
    // A caller that keeps calling stays drained through a flood of new keys: each new key
    // pushes out an idle one, never the active caller (the old limiter wiped every bucket).
    for (let i = 0; i < 10; i++) {
      rl.take(`new${i}`, 1, 3);
      expect(rl.take('drained', 1, 3)).toBeGreaterThan(0);
    }
    expect(rl.size).toBe(3);
  });
});

describe('RateLimiter.shareAmong (one limit across replicas)', () => {
  it('enforces limit/N per replica, so N replicas together allow the limit', () => {
    const [a, b] = [new RateLimiter(10, 60_000), new RateLimiter(10, 60_000)];
    a.shareAmong(2);
    b.shareAmong(2);
    let allowed = 0;
    // A caller alternating between the two replicas, as a round-robin balancer sends it.
    for (let i = 0; i < 40; i++) if ((i % 2 ? a : b).take('k', 1, 0) === 0) allowed++;
    expect(allowed).toBe(10);
    expect(a.capacity).toBe(5);
  });
  it("keeps each bucket's fill level when N changes: no fresh budget, no emptied one", () => {
    const rl = new RateLimiter(12, 60_000);
    rl.shareAmong(3);
    rl.take('half', 2, 0);
    rl.take('empty', 4, 0);
    rl.shareAmong(1);
    expect(rl.remaining('half', 0)).toBeCloseTo(6);
    expect(rl.remaining('empty', 0)).toBe(0);
    expect(rl.remaining('unseen', 0)).toBe(12);
    // Refill follows the new capacity: the whole limit per window.
    expect(rl.remaining('empty', 30_000)).toBeCloseTo(6);
    rl.shareAmong(4);
    expect(rl.remaining('half', 0)).toBeCloseTo(1.5);
    expect(rl.take('half', 1, 0)).toBe(0);
    expect(rl.take('half', 1, 0)).toBeGreaterThan(0);
  });
  it('never shares below one unit (that would refuse everyone) and treats nonsense as one replica', () => {
    const rl = new RateLimiter(3, 60_000);
    rl.shareAmong(10);
    expect(rl.capacity).toBe(1);
    expect(rl.take('k', 1, 0)).toBe(0);
    for (const n of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      rl.shareAmong(n);
      expect(rl.capacity).toBe(3);
    }
  });
});

describe('LruMap', () => {
  it('keeps at most max entries, dropping the least recently used', () => {
    const m = new LruMap<string, number>(2);
    m.set('a', 1);
    m.set('b', 2);
    expect(m.get('a')).toBe(1);
    m.set('c', 3);
    expect([m.has('a'), m.has('b'), m.has('c')]).toEqual([true, false, true]);
    expect(m.peek('a')).toBe(1);
    m.set('d', 4);
    // peek does not refresh: "a" is the oldest again.
    expect([m.has('a'), m.has('c'), m.has('d')]).toEqual([false, true, true]);
  });
});
