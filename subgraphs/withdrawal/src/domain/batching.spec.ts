import { EVM_MAX_BATCH, aggregationForFamily, cutBatch, splitFee } from './batching';

const T0 = new Date('2026-01-01T00:00:00Z');
const later = (s: number) => new Date(T0.getTime() + s * 1000);

describe('cutBatch', () => {
  it('sends each at once in NONE mode', () => {
    expect(cutBatch({ mode: 'NONE', maxSize: 50, maxWaitSeconds: 600 }, { count: 3, oldestQueuedAt: T0 }, T0)).toBe(1);
    expect(cutBatch({ mode: 'NONE', maxSize: 50, maxWaitSeconds: 600 }, { count: 0, oldestQueuedAt: T0 }, T0)).toBe(0);
  });
  it('cuts a BATCH group at the size, whichever comes first', () => {
    const s = { mode: 'BATCH' as const, maxSize: 20, maxWaitSeconds: 600 };
    expect(cutBatch(s, { count: 19, oldestQueuedAt: T0 }, later(10))).toBe(0);
    expect(cutBatch(s, { count: 20, oldestQueuedAt: T0 }, later(10))).toBe(20);
    expect(cutBatch(s, { count: 45, oldestQueuedAt: T0 }, later(10))).toBe(20);
  });
  it('cuts a BATCH group at the wait with what is there', () => {
    const s = { mode: 'BATCH' as const, maxSize: 20, maxWaitSeconds: 60 };
    expect(cutBatch(s, { count: 3, oldestQueuedAt: T0 }, later(59))).toBe(0);
    expect(cutBatch(s, { count: 3, oldestQueuedAt: T0 }, later(60))).toBe(3);
  });
});

describe('splitFee', () => {
  it('splits evenly with the remainder on the first and sums to the fee', () => {
    expect(splitFee(10n, 3)).toEqual([4n, 3n, 3n]);
    expect(splitFee(9n, 3)).toEqual([3n, 3n, 3n]);
    expect(splitFee(0n, 2)).toEqual([0n, 0n]);
    expect(splitFee(5n, 1)).toEqual([5n]);
    expect(splitFee(5n, 0)).toEqual([]);
    for (let n = 1; n < 30; n++) expect(splitFee(1_000_003n, n).reduce((a, b) => a + b, 0n)).toBe(1_000_003n);
  });
});

describe('aggregationForFamily', () => {
  it('sends Tron withdrawals one by one at once (a Tron transaction carries one transfer); others keep the merchant setting', () => {
    const batch = { mode: 'BATCH' as const, maxSize: 20, maxWaitSeconds: 600 };
    expect(aggregationForFamily(batch, 'TRON')).toEqual({ ...batch, mode: 'NONE' });
    expect(aggregationForFamily(batch, 'EVM')).toBe(batch);
    expect(aggregationForFamily(batch, 'BITCOIN')).toBe(batch);
    expect(cutBatch(aggregationForFamily(batch, 'TRON'), { count: 5, oldestQueuedAt: T0 }, T0)).toBe(1);
  });

  it('caps an EVM batch at what the signer sends in one BatchTransfer transaction', () => {
    const big = { mode: 'BATCH' as const, maxSize: 1000, maxWaitSeconds: 600 };
    expect(aggregationForFamily(big, 'EVM').maxSize).toBe(EVM_MAX_BATCH);
    expect(cutBatch(aggregationForFamily(big, 'EVM'), { count: 450, oldestQueuedAt: T0 }, T0)).toBe(EVM_MAX_BATCH);
    expect(aggregationForFamily(big, 'BITCOIN').maxSize).toBe(1000);
  });
});
