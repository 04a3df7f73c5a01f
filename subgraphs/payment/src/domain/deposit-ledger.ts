import type { DecisionEffect, DepositDecision, DepositLedgerEffect } from '@cpg/core/bus';
import { decisionEffect } from '@cpg/core/bus/catalogue/deposits';
import type { LedgerKind } from './deposits';

/**
 * Screen before spend, pure: which ledger effect a deposit's chain events (seen, credit,
 * reversal) and compliance's decisions (CLEAR, HOLD, RELEASE, BLOCK) have, in any order. This
 * subgraph is the one producer of a deposit's ledger effects; the merchant ledger posts what it
 * is told. The decision is made from what this subgraph has already told the ledger about the
 * deposit (`LedgerState`, stored on the deposit row) and the decisions it has received, both
 * read under the deposit's row lock, so the answer here is the whole truth for that deposit.
 *
 * A confirmed deposit is credited to `available` only when compliance has already decided its
 * sender may pay (CLEAR, or RELEASE of a hold); otherwise it is credited to `held`, where a
 * withdrawal's hold (which takes only from available) cannot reach it. The rule every step keeps:
 * a live credit sits in available exactly when the deposit's screening state is spendable. A
 * decision that does not change where the credit must be (or arrives before the credit) is told
 * as a marker: nothing moves, but the ledger records the decision.
 */

/**
 * What the ledger was told about the deposit's current generation: nothing, seen (in pending),
 * credited to available or to held (where the live credit sits now), or reversed. A new
 * generation (re-mined after a reorg) starts from `none`.
 */
export const LEDGER_STATES = ['none', 'seen', 'available', 'held', 'reversed'] as const;
export type LedgerState = (typeof LEDGER_STATES)[number];

/**
 * unscreened: no decision yet; cleared: the sender screened ALLOW; held: REVIEW/BLOCK, an alert is
 * open or blocked; released: the operator allowed it (final: an ALLOWED alert cannot be blocked).
 */
export type ScreeningState = 'unscreened' | 'cleared' | 'held' | 'released';

export function screeningState(decisions: ReadonlySet<DepositDecision>): ScreeningState {
  if (decisions.has('RELEASE')) return 'released';
  // A hold outranks a clear: should both ever exist, the funds wait for the operator.
  if (decisions.has('HOLD') || decisions.has('BLOCK')) return 'held';
  if (decisions.has('CLEAR')) return 'cleared';
  return 'unscreened';
}

export const spendable = (s: ScreeningState): boolean => s === 'cleared' || s === 'released';

type Distribute<E> = E extends unknown ? Omit<E, 'merchantId' | 'paymentId' | 'amount' | 'deposit'> : never;
/** An effect as planned here; the caller adds whose deposit it is and its amount. */
export type PlannedEffect = Distribute<DepositLedgerEffect>;

export interface LedgerStep {
  effect: PlannedEffect;
  /** The deposit's ledger state once the effect is told. */
  next: LedgerState;
}

/**
 * The effect of a chain event on a deposit whose current generation is in `state`, or null when
 * the ledger has it already (a late `seen`, a second credit or reversal of one generation, a
 * reversal of nothing). `kind` comes from the deposit's transition (./deposits).
 */
export function planChainEffect(state: LedgerState, kind: LedgerKind, decisions: ReadonlySet<DepositDecision>): LedgerStep | null {
  switch (kind) {
    case 'seen':
      return state === 'none' ? { effect: { effect: 'seen' }, next: 'seen' } : null;
    case 'confirmed':
    case 'unsolicited_confirmed': {
      if (state !== 'none' && state !== 'seen') return null;
      const fromPending = state === 'seen';
      const screening = screeningState(decisions);
      if (spendable(screening)) {
        return { effect: { effect: 'credit', credit: kind === 'confirmed' ? 'deposit_confirmed' : 'unsolicited', fromPending }, next: 'available' };
      }
      const credit = screening === 'held' ? 'deposit_confirmed_held' : 'deposit_pending_screening';
      return { effect: { effect: 'credit', credit, fromPending }, next: 'held' };
    }
    case 'reorged':
      if (state === 'seen') return { effect: { effect: 'reversal', from: 'pending' }, next: 'reversed' };
      if (state === 'available' || state === 'held') return { effect: { effect: 'reversal', from: state }, next: 'reversed' };
      return null;
  }
}

/**
 * A compliance decision on the deposit: a move of its live credit, a marker, or null for a
 * repeat. `decisions` are those received before this one.
 */
export function planDecisionEffect(state: LedgerState, decisions: ReadonlySet<DepositDecision>, decision: DepositDecision): LedgerStep | null {
  if (decisions.has(decision)) return null;
  const effect: DecisionEffect = decisionEffect(decision);
  const at = state === 'available' || state === 'held' ? state : null;
  const want = spendable(screeningState(new Set([...decisions, decision]))) ? 'available' : 'held';
  const marker = { effect: { effect, moves: false }, next: state };
  if (at === null || at === want) return marker;
  // A decision only moves the credit toward its own side (a hold never frees, a clear never holds).
  const toward = decision === 'HOLD' || decision === 'BLOCK' ? 'held' : 'available';
  return toward === want ? { effect: { effect, moves: true }, next: want } : marker;
}
