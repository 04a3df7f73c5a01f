/**
 * Screen before spend, pure: where a deposit's credit goes and moves as the chain (credit,
 * reversal) and compliance (CLEAR, HOLD, RELEASE, BLOCK) report on it, in any order.
 *
 * A confirmed deposit is credited to `available` only when compliance has already decided its
 * sender may pay (CLEAR, or RELEASE of a hold); otherwise it is credited to `held`, where a
 * withdrawal's hold (which takes only from available) cannot reach it. The state is read from the
 * deposit's own postings (their keys and kinds, oldest first), which the consumers read under one
 * advisory lock per deposit, so the answer here is the whole truth for that deposit.
 *
 * The rule every step keeps: a live credit sits in available exactly when the deposit's screening
 * state is spendable. A decision that does not change where the credit must be (or arrives before
 * the credit) posts a marker: nothing moves, but its key records the decision for later steps and
 * makes a repeat of it a no-op.
 */
import {
  type ComplianceEffect,
  type DepositInput,
  type Posting,
  complianceClearCredited,
  complianceHoldCredited,
  complianceKey,
  complianceMarker,
  complianceReleaseCredited,
  depositConfirmed,
  depositConfirmedHeld,
  depositPendingScreening,
  depositReorgedAfterCredit,
  depositReorgedBeforeCredit,
  depositReorgedWhileHeld,
  depositSeen,
  unsolicitedCredit,
} from './postings';

export type ScreeningAction = 'CLEAR' | 'HOLD' | 'RELEASE' | 'BLOCK';

export const EFFECT_OF: Record<ScreeningAction, ComplianceEffect> = {
  CLEAR: 'compliance_clear',
  HOLD: 'compliance_hold',
  RELEASE: 'compliance_release',
  BLOCK: 'compliance_block',
};

/**
 * unscreened: no decision yet; cleared: the sender screened ALLOW; held: REVIEW/BLOCK, an alert is
 * open or blocked; released: the operator allowed it (final: an ALLOWED alert cannot be blocked).
 */
export type ScreeningState = 'unscreened' | 'cleared' | 'held' | 'released';

/** One posting of the deposit (any generation), oldest first. */
export interface DepositPostingRow {
  key: string;
  kind: string;
}

export function screeningState(keys: ReadonlySet<string>, input: Pick<DepositInput, 'deposit'>): ScreeningState {
  const has = (e: ComplianceEffect) => keys.has(complianceKey(input.deposit, e));
  if (has('compliance_release')) return 'released';
  // A hold outranks a clear: should both ever exist, the funds wait for the operator.
  if (has('compliance_hold') || has('compliance_block')) return 'held';
  if (has('compliance_clear')) return 'cleared';
  return 'unscreened';
}

export const spendable = (s: ScreeningState): boolean => s === 'cleared' || s === 'released';

// Posting kinds that leave a live credit in held or in available (markers move nothing).
const TO_HELD = new Set(['deposit_confirmed_held', 'deposit_pending_screening', 'compliance_hold']);
const TO_AVAILABLE = new Set(['deposit_confirmed', 'unsolicited', 'compliance_release', 'compliance_clear']);

/** Where the deposit's live credit sits now, or null when nothing is credited (or it was reversed). */
export function creditLocation(rows: readonly DepositPostingRow[]): 'available' | 'held' | null {
  let at: 'available' | 'held' | null = null;
  for (const r of rows) {
    if (r.key.endsWith(':reversal')) at = null;
    else if (TO_HELD.has(r.kind)) at = 'held';
    else if (TO_AVAILABLE.has(r.kind)) at = 'available';
  }
  return at;
}

const keySet = (rows: readonly DepositPostingRow[]) => new Set(rows.map((r) => r.key));

/**
 * The credit of a confirmed deposit (`confirmed` for a payment's, `unsolicited_confirmed` for a
 * transfer no payment expected), or null when this generation is credited already. From pending
 * when the deposit was seen first.
 */
export function planCredit(rows: readonly DepositPostingRow[], input: DepositInput, kind: 'confirmed' | 'unsolicited_confirmed'): Posting | null {
  const keys = keySet(rows);
  const wasSeen = keys.has(depositSeen(input).idempotencyKey);
  const credit = { ...input, wasSeen };
  if (keys.has(depositConfirmed(credit).idempotencyKey)) return null;
  const state = screeningState(keys, input);
  if (spendable(state)) return kind === 'confirmed' ? depositConfirmed(credit) : unsolicitedCredit(credit);
  return state === 'held' ? depositConfirmedHeld(credit) : depositPendingScreening(credit);
}

/** A compliance decision on the deposit: a move of its live credit, a marker, or null for a repeat. */
export function planDecision(rows: readonly DepositPostingRow[], input: DepositInput, action: ScreeningAction): Posting | null {
  const effect = EFFECT_OF[action];
  const key = complianceKey(input.deposit, effect);
  const keys = keySet(rows);
  if (keys.has(key)) return null;
  const at = creditLocation(rows);
  const want = spendable(screeningState(new Set([...keys, key]), input)) ? 'available' : 'held';
  if (at === null || at === want) return complianceMarker(input, effect);
  if (want === 'held' && (effect === 'compliance_hold' || effect === 'compliance_block')) return complianceHoldCredited(input, effect);
  if (want === 'available' && effect === 'compliance_clear') return complianceClearCredited(input);
  if (want === 'available' && effect === 'compliance_release') return complianceReleaseCredited(input);
  // Unreachable while the rule above holds (a decision only moves toward its own side).
  return complianceMarker(input, effect);
}

/**
 * A reorg of the deposit's block: a live credit is taken back from where it sits (held or
 * available; what available no longer covers becomes debt), a seen one from pending. Null when
 * this generation was reversed already or there is nothing to reverse.
 */
export function planReversal(rows: readonly DepositPostingRow[], input: DepositInput, wasConfirmed: boolean): Posting | null {
  const keys = keySet(rows);
  const reversal = depositReorgedAfterCredit(input);
  if (keys.has(reversal.idempotencyKey)) return null;
  const credited = keys.has(depositConfirmed({ ...input, wasSeen: false }).idempotencyKey);
  if (credited) return creditLocation(rows) === 'held' ? depositReorgedWhileHeld(input) : reversal;
  // Confirmed by the payment subgraph but not credited here: as before this rule, taken from
  // available (as debt), and the credit, should it still arrive, repays it.
  if (wasConfirmed) return reversal;
  if (keys.has(depositSeen(input).idempotencyKey)) return depositReorgedBeforeCredit(input);
  return null;
}
