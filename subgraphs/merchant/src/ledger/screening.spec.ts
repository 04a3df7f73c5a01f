import { type DepositRef, type Posting, depositSeen, resolvePosting } from './postings';
import { type DepositPostingRow, type ScreeningAction, creditLocation, planCredit, planDecision, planReversal } from './screening';

const M = '00000000-0000-4000-8000-000000000001';
const COIN = 'dev-evm:ETH';

/** One deposit's books: its postings (as the consumers read them) and the merchant's balances. */
function books(generation = 0) {
  const rows: DepositPostingRow[] = [];
  const balance = new Map<string, bigint>();
  let deposit: DepositRef = { network: 'dev-evm', txHash: '0xAB', index: 1, generation };
  const input = () => ({ merchantId: M, coinId: COIN, deposit, amount: 100n });
  const post = (p: Posting | null) => {
    if (!p) return null;
    for (const e of resolvePosting(p, (a) => balance.get(a.kind) ?? 0n)) balance.set(e.account.kind, (balance.get(e.account.kind) ?? 0n) + e.amount);
    rows.push({ key: p.idempotencyKey, kind: p.kind });
    return p.kind;
  };
  return {
    rows,
    seen: () => post(depositSeen(input())),
    credit: (kind: 'confirmed' | 'unsolicited_confirmed' = 'confirmed') => post(planCredit(rows, input(), kind)),
    decide: (a: ScreeningAction) => post(planDecision(rows, input(), a)),
    reorg: (wasConfirmed = true) => post(planReversal(rows, input(), wasConfirmed)),
    remine: () => {
      deposit = { ...deposit, generation: (deposit.generation ?? 0) + 1 };
    },
    get: () => ({
      available: balance.get('available') ?? 0n,
      held: balance.get('held') ?? 0n,
      pending: balance.get('pending') ?? 0n,
      debt: balance.get('debt') ?? 0n,
    }),
  };
}

describe('screen before spend', () => {
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

  it('a credit made available before this rule (no decision recorded) still moves to held on HOLD', () => {
    const b = books();
    b.rows.push({ key: 'deposit:dev-evm:0xab:1:credit', kind: 'deposit_confirmed' });
    expect(creditLocation(b.rows)).toBe('available');
    expect(planDecision(b.rows, { merchantId: M, coinId: COIN, deposit: { network: 'dev-evm', txHash: '0xab', index: 1 }, amount: 100n }, 'HOLD')?.kind).toBe(
      'compliance_hold',
    );
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
    expect(seenOnly.reorg(false)).toBe('deposit_reversed');
    expect(seenOnly.get()).toEqual({ available: 0n, held: 0n, pending: 0n, debt: 0n });
  });

  it('a decision after the reorg is a marker; the re-mined transfer is credited where that decision says', () => {
    const b = books();
    b.credit();
    b.reorg();
    expect(b.decide('CLEAR')).toBe('compliance_clear_marker');
    b.remine();
    expect(b.credit()).toBe('deposit_confirmed');
    expect(b.get()).toEqual({ available: 100n, held: 0n, pending: 0n, debt: 0n });
    expect(creditLocation(b.rows)).toBe('available');
  });
});
