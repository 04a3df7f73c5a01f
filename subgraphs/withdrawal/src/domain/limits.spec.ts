import { AppError } from '@cpg/core/graphql';
import { checkLimit, validateLimit } from './limits';

const limit = { min: 10n, max: 100n, daily: 250n, approvalAbove: null };

describe('checkLimit', () => {
  it('lets anything through without a limit', () => {
    expect(checkLimit(null, 10n ** 30n, 10n ** 30n)).toBeNull();
  });
  it('checks min and max inclusively', () => {
    expect(checkLimit(limit, 9n, 0n)?.field).toBe('min');
    expect(checkLimit(limit, 10n, 0n)).toBeNull();
    expect(checkLimit(limit, 100n, 0n)).toBeNull();
    expect(checkLimit(limit, 101n, 0n)?.field).toBe('max');
  });
  it('checks the rolling daily sum including this request', () => {
    expect(checkLimit(limit, 100n, 150n)).toBeNull();
    expect(checkLimit(limit, 100n, 151n)?.field).toBe('daily');
  });
});

describe('validateLimit', () => {
  it('needs min <= max <= daily', () => {
    expect(validateLimit(limit)).toEqual(limit);
    expect(() => validateLimit({ ...limit, max: 9n })).toThrow(AppError);
    expect(() => validateLimit({ ...limit, daily: 99n })).toThrow(/daily/);
    expect(() => validateLimit({ ...limit, approvalAbove: -1n })).toThrow(/approvalAbove/);
  });
});
