import { DEFAULT_BACKOFF, backoffCeiling, backoffDelay } from './backoff';

const policy = { baseMs: 100, maxMs: 1_000 };

describe('backoffCeiling', () => {
  it('doubles from the base and stops at the maximum', () => {
    expect([0, 1, 2, 3, 4, 5].map((n) => backoffCeiling(n, policy))).toEqual([100, 200, 400, 800, 1_000, 1_000]);
  });

  it('stays finite for absurd retry counts', () => {
    expect(backoffCeiling(10_000, policy)).toBe(1_000);
    expect(backoffCeiling(10_000, { baseMs: 1, maxMs: Number.MAX_SAFE_INTEGER })).toBe(2 ** 30);
  });

  it('rejects negative or fractional retries and negative bounds', () => {
    expect(() => backoffCeiling(-1, policy)).toThrow(RangeError);
    expect(() => backoffCeiling(1.5, policy)).toThrow(RangeError);
    expect(() => backoffCeiling(0, { baseMs: -1, maxMs: 10 })).toThrow(RangeError);
    expect(() => backoffCeiling(0, { baseMs: 1, maxMs: Number.NaN })).toThrow(RangeError);
  });

  it('has sane defaults', () => {
    expect(backoffCeiling(0, DEFAULT_BACKOFF)).toBe(250);
    expect(backoffCeiling(20, DEFAULT_BACKOFF)).toBe(5_000);
  });
});

describe('backoffDelay (full jitter)', () => {
  it('is the random fraction of the ceiling, in whole milliseconds', () => {
    expect(backoffDelay(0, policy, () => 0)).toBe(0);
    expect(backoffDelay(0, policy, () => 0.5)).toBe(50);
    expect(backoffDelay(2, policy, () => 0.5)).toBe(200);
    expect(backoffDelay(9, policy, () => 0.25)).toBe(250);
    expect(backoffDelay(1, policy, () => 0.333)).toBe(66);
  });

  it('never reaches the ceiling, even with a source that returns 1 or more', () => {
    expect(backoffDelay(0, policy, () => 0.999999)).toBe(99);
    expect(backoffDelay(0, policy, () => 1)).toBe(99);
    expect(backoffDelay(0, policy, () => 7)).toBe(99);
  });

  it('treats a negative or non-finite random value as zero wait', () => {
    expect(backoffDelay(3, policy, () => -0.5)).toBe(0);
    expect(backoffDelay(3, policy, () => Number.NaN)).toBe(0);
  });

  it('stays within [0, ceiling) with the real random source', () => {
    for (let retry = 0; retry < 8; retry++) {
      for (let i = 0; i < 200; i++) {
        const delay = backoffDelay(retry, policy);
        expect(Number.isInteger(delay)).toBe(true);
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThan(backoffCeiling(retry, policy));
      }
    }
  });

  it('spreads callers out instead of synchronising them', () => {
    const delays = new Set(Array.from({ length: 50 }, () => backoffDelay(4, policy)));
    expect(delays.size).toBeGreaterThan(10);
  });

  it('is zero when the policy allows no wait', () => {
    expect(backoffDelay(5, { baseMs: 0, maxMs: 0 }, () => 0.9)).toBe(0);
  });
});
