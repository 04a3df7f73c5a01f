/**
 * Exponential backoff with full jitter: the wait before retry n is uniform in [0, min(max, base * 2^n)).
 * Full jitter (rather than a fixed exponential delay) spreads out the callers that all failed on
 * the same outage, so a recovering node is not hit by them in lock-step.
 */

export interface BackoffPolicy {
  /** Ceiling of the first retry's delay. */
  baseMs: number;
  /** No delay ever exceeds this, however many retries. */
  maxMs: number;
}

export const DEFAULT_BACKOFF: Readonly<BackoffPolicy> = { baseMs: 250, maxMs: 5_000 };

// 2^30 * any sane base already exceeds every sane max; capping the exponent keeps the product finite.
const MAX_EXPONENT = 30;

/**
 * The upper bound of the delay before retry `retry` (0 for the first retry). Pure; called by
 * backoffDelay and by tests that check the jitter range.
 */
export function backoffCeiling(retry: number, policy: BackoffPolicy): number {
  if (!Number.isInteger(retry) || retry < 0) throw new RangeError(`retry must be a whole number >= 0, got ${retry}`);
  if (!(policy.baseMs >= 0) || !(policy.maxMs >= 0)) throw new RangeError('backoff baseMs and maxMs must be >= 0');
  return Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(retry, MAX_EXPONENT));
}

/**
 * The delay in whole milliseconds before retry `retry` (0 for the first retry). Called by the pool
 * before it asks an endpoint again within one call. Pure given `random` (a [0, 1) source, injected
 * by tests); the same inputs give the same delay.
 */
export function backoffDelay(retry: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const ceiling = backoffCeiling(retry, policy);
  const r = random();
  // A misbehaving source must not produce a negative or over-ceiling wait.
  const unit = Number.isFinite(r) ? Math.min(Math.max(r, 0), 1 - Number.EPSILON) : 0;
  return Math.floor(unit * ceiling);
}
