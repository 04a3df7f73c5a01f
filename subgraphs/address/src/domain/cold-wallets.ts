/**
 * COLD wallets, pure. A cold wallet is a destination outside the hot side (no keys here): funds
 * forwarded to it have left the gateway's control, so registering one is treated like a new
 * withdrawal destination. Screening decides first (BLOCK: refused, nothing stored; REVIEW: the
 * operator decides; ALLOW: usable after a cooling-off period); the operator may approve earlier
 * or reject at any time.
 */

export const COLD_WALLET_STATUSES = ['PENDING_REVIEW', 'COOLING_OFF', 'ACTIVE', 'REJECTED'] as const;
export type ColdWalletStatus = (typeof COLD_WALLET_STATUSES)[number];
export type ScreeningDecision = 'ALLOW' | 'REVIEW' | 'BLOCK';

export function isColdWalletStatus(v: unknown): v is ColdWalletStatus {
  return typeof v === 'string' && (COLD_WALLET_STATUSES as readonly string[]).includes(v);
}

/** What a new cold wallet starts as, from the screening decision; null when BLOCK (never stored). */
export function initialColdStatus(
  decision: ScreeningDecision,
  now: Date,
  coolingOffHours: number,
): { status: ColdWalletStatus; usableFrom: Date | null } | null {
  if (decision === 'BLOCK') return null;
  if (decision === 'REVIEW') return { status: 'PENDING_REVIEW', usableFrom: null };
  return { status: 'COOLING_OFF', usableFrom: new Date(now.getTime() + Math.round(coolingOffHours * 3_600_000)) };
}

/** The status as seen now: a COOLING_OFF wallet whose period has passed is ACTIVE. */
export function effectiveColdStatus(stored: ColdWalletStatus, usableFrom: Date | null, now: Date): ColdWalletStatus {
  if (stored === 'COOLING_OFF' && usableFrom !== null && usableFrom.getTime() <= now.getTime()) return 'ACTIVE';
  return stored;
}

/** Whether funds may be forwarded to the wallet now. */
export function coldWalletUsable(stored: ColdWalletStatus, usableFrom: Date | null, now: Date): boolean {
  return effectiveColdStatus(stored, usableFrom, now) === 'ACTIVE';
}

export type OperatorAction = 'approve' | 'reject';

/**
 * The operator's decision on a cold wallet. Approving makes it ACTIVE at once (under review or
 * still cooling off); a rejected wallet stays rejected (the merchant registers another). Repeating
 * a decision changes nothing (`changed: false`).
 */
export function operatorDecision(
  current: ColdWalletStatus,
  action: OperatorAction,
): { ok: true; status: ColdWalletStatus; changed: boolean } | { ok: false; reason: string } {
  if (action === 'approve') {
    if (current === 'REJECTED') return { ok: false, reason: 'this cold wallet was rejected; it cannot be approved' };
    return { ok: true, status: 'ACTIVE', changed: current !== 'ACTIVE' };
  }
  return { ok: true, status: 'REJECTED', changed: current !== 'REJECTED' };
}
