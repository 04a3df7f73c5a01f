import type { DepositDecision } from '@cpg/core/bus';
import { type LedgerState, type PlannedEffect, type LedgerStep, planChainEffect, planDecisionEffect } from './deposit-ledger';

// Ported from the merchant ledger's screening spec: the same scenarios, now decided here and told
// to the ledger. Each effect is named by the posting the ledger makes of it, and a small model of
// the merchant's accounts applies it the way those postings move money.

const AMOUNT = 100n;

function postingKind(e: PlannedEffect): string {
  if (e.effect === 'seen') return 'deposit_seen';
  if (e.effect === 'credit') return e.credit;
  if (e.effect === 'reversal') return 'deposit_reversed';
  return e.moves ? `compliance_${e.effect}` : `compliance_${e.effect}_marker`;
}

/** One deposit: its ledger state and decisions as this subgraph keeps them, and the merchant's balances. */
function books(initial: LedgerState = 'none') {
  let state: LedgerState = initial;
  const decisions = new Set<DepositDecision>();
  const balance = { available: 0n, held: 0n, pending: 0n, debt: 0n };
  const apply = (step: LedgerStep | null, decision?: DepositDecision) => {
    if (!step) return null;
    const e = step.effect;
    if (e.effect === 'seen') balance.pending += AMOUNT;
    else if (e.effect === 'credit') {
      if (e.fromPending) balance.pending -= AMOUNT;
      balance[e.credit === 'deposit_confirmed' || e.credit === 'unsolicited' ? 'available' : 'held'] += AMOUNT;
    } else if (e.effect === 'reversal') balance[e.from] -= AMOUNT;
    else if (e.moves) {
      const [from, to] = e.effect === 'hold' || e.effect === 'block' ? (['available', 'held'] as const) : (['held', 'available'] as const);
      balance[from] -= AMOUNT;
      balance[to] += AMOUNT;
    }
    state = step.next;
    if (decision) decisions.add(decision);
    return postingKind(e);
  };
  return {
    seen: () => apply(planChainEffect(state, 'seen', decisions)),
    credit: (kind: 'confirmed' | 'unsolicited_confirmed' = 'confirmed') => apply(planChainEffect(state, kind, decisions)),
    decide: (d: DepositDecision) => apply(planDecisionEffect(state, decisions, d), d),
    reorg: () => apply(planChainEffect(state, 'reorged', decisions)),
    /** The transfer is mined again after its reorg: a new generation starts untold. */
    remine: () => {
      state = 'none';
    },
    state: () => state,
    get: () => ({ ...balance }),
  };
}

describe('screen before spend (the payment subgraph decides, the ledger posts)', () => {
  it('a credit before any decision is held (pending screening); CLEAR moves it to available once', () => {
    const b = books();
    b.seen();
    expect(b.credit()).toBe('deposit_pending_screening');
    expect(b.get()).toEqual({ available: 0n, held: 100n, pending: 0n, debt: 0n });
    expect(b.decide('CLEAR')).toBe('compliance_clear');
    expect(b.decide('CLEAR')).toBeNull();
    expect(b.credit()).toBeNull();
    expect(b.get()).toEqual({ available: 100n, held: 0n, pending: 0n, debt: 0n });
  });

  it('CLEAR before the credit leaves a marker; the credit then goes straight to available, unsolicited ones too', () => {
    const b = books();
    expect(b.decide('CLEAR')).toBe('compliance_clear_marker');
    expect(b.credit('unsolicited_confirmed')).toBe('unsolicited');
    expect(b.get()).toEqual({ available: 100n, held: 0n, pending: 0n, debt: 0n });
  });

  it('HOLD before the credit: credited to held; BLOCK keeps it there; RELEASE makes it available', () => {
    const b = books();
    expect(b.decide('HOLD')).toBe('compliance_hold_marker');
    expect(b.credit()).toBe('deposit_confirmed_held');
    expect(b.decide('BLOCK')).toBe('compliance_block_marker');
    expect(b.get()).toEqual({ available: 0n, held: 100n, pending: 0n, debt: 0n });
    expect(b.decide('RELEASE')).toBe('compliance_release');
    expect(b.decide('RELEASE')).toBeNull();
    expect(b.get()).toEqual({ available: 100n, held: 0n, pending: 0n, debt: 0n });
  });

  it('HOLD after an unscreened credit moves nothing (it is held already) and a late CLEAR cannot free it', () => {
    const b = books();
    b.credit();
    expect(b.decide('HOLD')).toBe('compliance_hold_marker');
    expect(b.decide('CLEAR')).toBe('compliance_clear_marker');
    expect(b.get()).toEqual({ available: 0n, held: 100n, pending: 0n, debt: 0n });
    expect(b.decide('RELEASE')).toBe('compliance_release');
    expect(b.get().available).toBe(100n);
  });

  it('a HOLD overtaken by its RELEASE leaves the funds available', () => {
    const b = books();
    b.credit();
    expect(b.decide('RELEASE')).toBe('compliance_release');
    expect(b.decide('HOLD')).toBe('compliance_hold_marker');
    expect(b.decide('BLOCK')).toBe('compliance_block_marker');
    expect(b.get()).toEqual({ available: 100n, held: 0n, pending: 0n, debt: 0n });
  });

  it('a credit made available before screening (no decision recorded) still moves to held on HOLD', () => {
    const b = books('available');
    expect(b.decide('HOLD')).toBe('compliance_hold');
    expect(b.state()).toBe('held');
  });

  it('a reorg takes the credit back from where it sits: held while unscreened, available once cleared, pending before the credit', () => {
    const unscreened = books();
    unscreened.seen();
    unscreened.credit();
    expect(unscreened.reorg()).toBe('deposit_reversed');
    expect(unscreened.reorg()).toBeNull();
    expect(unscreened.get()).toEqual({ available: 0n, held: 0n, pending: 0n, debt: 0n });

    const cleared = books();
    cleared.credit();
    cleared.decide('CLEAR');
    cleared.reorg();
    expect(cleared.get()).toEqual({ available: 0n, held: 0n, pending: 0n, debt: 0n });

    const seenOnly = books();
    seenOnly.seen();
    expect(seenOnly.reorg()).toBe('deposit_reversed');
    expect(seenOnly.get()).toEqual({ available: 0n, held: 0n, pending: 0n, debt: 0n });

    expect(books().reorg()).toBeNull();
  });

  it('a decision after the reorg is a marker; the re-mined transfer is credited where that decision says', () => {
    const b = books();
    b.credit();
    b.reorg();
    expect(b.decide('CLEAR')).toBe('compliance_clear_marker');
    b.remine();
    expect(b.credit()).toBe('deposit_confirmed');
    expect(b.get()).toEqual({ available: 100n, held: 0n, pending: 0n, debt: 0n });
    expect(b.state()).toBe('available');
  });

  it('a late seen after the credit tells nothing; a credit from pending only when seen was told', () => {
    const b = books();
    expect(planChainEffect('none', 'confirmed', new Set())).toEqual({
      effect: { effect: 'credit', credit: 'deposit_pending_screening', fromPending: false },
      next: 'held',
    });
    b.credit();
    expect(b.seen()).toBeNull();
  });
});
