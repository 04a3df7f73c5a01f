import { ALERT_STATUSES } from '@cpg/core/bus/catalogue/compliance';

/**
 * Alert resolution rules, pure. An alert is OPEN until the operator decides:
 * - ALLOW -> ALLOWED: held deposit funds are released to available;
 * - BLOCK -> BLOCKED: they stay held (and visible);
 * - a BLOCKED alert may still be ALLOWED later (a review that clears the sender); an ALLOWED one
 *   cannot be BLOCKED, because released funds may already be spent: raise a new alert instead.
 * Repeating the decision an alert already has is a no-op (a retried call), not an error.
 */
export { ALERT_STATUSES };
export type AlertStatus = (typeof ALERT_STATUSES)[number];

export type Resolution = { ok: true; next: AlertStatus; changed: boolean } | { ok: false; reason: string; code: 'BAD_USER_INPUT' | 'CONFLICT' };

export function resolveStep(current: AlertStatus, decision: 'ALLOW' | 'REVIEW' | 'BLOCK'): Resolution {
  if (decision === 'REVIEW') return { ok: false, code: 'BAD_USER_INPUT', reason: 'resolve an alert with ALLOW or BLOCK' };
  const next: AlertStatus = decision === 'ALLOW' ? 'ALLOWED' : 'BLOCKED';
  if (current === next) return { ok: true, next, changed: false };
  if (current === 'ALLOWED') return { ok: false, code: 'CONFLICT', reason: 'the alert was already resolved with ALLOW and its funds released' };
  return { ok: true, next, changed: true };
}
