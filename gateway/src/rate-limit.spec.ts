import { RateLimiter } from './rate-limit';

describe('RateLimiter', () => {
  it('allows a burst up to capacity, then refuses with the wait', () => {
    const rl = new RateLimiter(3, 3000);
    expect([rl.take('k', 0), rl.take('k', 0), rl.take('k', 0)]).toEqual([0, 0, 0]);
    expect(rl.take('k', 0)).toBe(1000);
  });
  it('refills over time and keeps callers apart', () => {
    const rl = new RateLimiter(2, 2000);
    rl.take('a', 0);
    rl.take('a', 0);
    expect(rl.take('a', 0)).toBeGreaterThan(0);
    expect(rl.take('b', 0)).toBe(0);
    expect(rl.take('a', 1000)).toBe(0);
    expect(rl.take('a', 1000)).toBeGreaterThan(0);
  });
  it('never holds more than capacity after a long idle time', () => {
    const rl = new RateLimiter(2, 1000);
    rl.take('a', 0);
    expect([rl.take('a', 1e9), rl.take('a', 1e9), rl.take('a', 1e9)]).toEqual([0, 0, 500]);
  });
});
