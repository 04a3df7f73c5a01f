import { badInput } from '@cpg/core/graphql';

export interface Limit {
  min: bigint;
  max: bigint;
  daily: bigint;
  approvalAbove: bigint | null;
}

export type LimitBreach = { field: 'min' | 'max' | 'daily'; message: string } | null;

/**
 * Checks one request against the merchant's limit for the coin. `usedToday` is the sum of the
 * merchant's withdrawals of the coin in the last 24 h that did not end unspent (see
 * countsTowardsDaily), including ones still being requested.
 */
export function checkLimit(limit: Limit | null, amount: bigint, usedToday: bigint): LimitBreach {
  if (!limit) return null;
  if (amount < limit.min) return { field: 'min', message: 'amount is below the minimum withdrawal for this coin' };
  if (amount > limit.max) return { field: 'max', message: 'amount is above the maximum withdrawal for this coin' };
  if (usedToday + amount > limit.daily) return { field: 'daily', message: 'amount would exceed the daily withdrawal limit for this coin (rolling 24 hours)' };
  return null;
}

/** A limit as setWithdrawalLimit accepts it: min <= max <= daily, approvalAbove optional and not negative. */
export function validateLimit(l: Limit): Limit {
  if (l.min < 0n) throw badInput('min must not be negative', { field: 'min' });
  if (l.max < l.min) throw badInput('max must be at least min', { field: 'max' });
  if (l.daily < l.max) throw badInput('daily must be at least max', { field: 'daily' });
  if (l.approvalAbove !== null && l.approvalAbove < 0n) throw badInput('approvalAbove must not be negative', { field: 'approvalAbove' });
  return l;
}
