import { AppError } from '@cpg/core/graphql';
import { depositRefSchema } from '@cpg/core/bus/catalogue/deposits';
import { coldForward } from './collection-postings';
import { depositConfirmed, depositReorgedAfterCredit, depositReorgedBeforeCredit, depositSeen, unsolicitedCredit } from './deposit-postings';
import {
  ALLOW_NEGATIVE,
  type AccountRef,
  type Posting,
  type ResolvedEntry,
  accountKey,
  accountsOf,
  assertPosting,
  overdrawn,
  resolvePosting,
  sumsByCoin,
} from './postings';
import { holdForWithdrawal, releaseHold, settleHold } from './withdrawal-postings';

const M = '11111111-1111-4111-8111-111111111111';
const M2 = '22222222-2222-4222-8222-222222222222';
const COIN = 'dev-evm:USDT';
// Deposits reach the rules as the bus catalogue reads them: its DepositRef normalises the hash once.
const dep = depositRefSchema.parse({ network: 'dev-evm', txHash: '0xABCDEF', index: 3, coinId: COIN, generation: 0 });

/** A tiny in-memory ledger: balances by account, applied the way the service applies them. */
class Book {
  readonly balances = new Map<string, bigint>();
  readonly seenKeys = new Set<string>();
  bal = (a: AccountRef) => this.balances.get(accountKey(a)) ?? 0n;
  /** Returns the resolved entries, or null when refused (overdraw) or already applied. */
  apply(p: Posting): ResolvedEntry[] | null {
    assertPosting(p);
    if (this.seenKeys.has(p.idempotencyKey)) return null;
    const resolved = resolvePosting(p, this.bal);
    if (overdrawn(resolved, this.bal).length) return null;
    this.seenKeys.add(p.idempotencyKey);
    for (const e of resolved) this.balances.set(accountKey(e.account), this.bal(e.account) + e.amount);
    return resolved;
  }
}

const ref = (kind: AccountRef['kind'], merchantId = M, coinId = COIN): AccountRef => ({ merchantId, coinId, kind });

function expectBalanced(entries: { account: AccountRef; amount: bigint }[]) {
  for (const [, total] of sumsByCoin(entries)) expect(total).toBe(0n);
}

describe('posting rules', () => {
  const rules: [string, Posting][] = [
    ['seen', depositSeen({ merchantId: M, coinId: COIN, deposit: dep, amount: 5n })],
    ['confirmed after seen', depositConfirmed({ merchantId: M, coinId: COIN, deposit: dep, amount: 5n, wasSeen: true })],
    ['confirmed never seen', depositConfirmed({ merchantId: M, coinId: COIN, deposit: dep, amount: 5n, wasSeen: false })],
    ['unsolicited', unsolicitedCredit({ merchantId: M, coinId: COIN, deposit: dep, amount: 5n, wasSeen: false })],
    ['reorg before credit', depositReorgedBeforeCredit({ merchantId: M, coinId: COIN, deposit: dep, amount: 5n })],
    ['reorg after credit', depositReorgedAfterCredit({ merchantId: M, coinId: COIN, deposit: dep, amount: 5n })],
    ['hold', holdForWithdrawal({ merchantId: M, coinId: COIN, withdrawalId: 'w1', amount: 5n })],
    ['release', releaseHold({ merchantId: M, coinId: COIN, withdrawalId: 'w1', held: 5n })],
    ['settle', settleHold({ merchantId: M, coinId: COIN, withdrawalId: 'w1', held: 10n, sent: 7n, fee: 2n })],
  ];

  it.each(rules)('%s: balanced per coin, resolved against any balances', (_, p) => {
    expect(() => assertPosting(p)).not.toThrow();
    expectBalanced(p.entries);
    for (const start of [0n, 1n, 3n, 5n, 100n, -4n]) {
      const resolved = resolvePosting(p, (a) => (a.kind === 'debt' ? (start < 0n ? start : 0n) : start > 0n ? start : 0n));
      expectBalanced(resolved);
      expect(new Set(resolved.map((e) => accountKey(e.account))).size).toBe(resolved.length);
    }
  });

  it('keys one deposit to one credit, whatever path it took, and normalises hex case', () => {
    const a = depositConfirmed({ merchantId: M, coinId: COIN, deposit: dep, amount: 5n, wasSeen: true });
    const b = unsolicitedCredit({ merchantId: M, coinId: COIN, deposit: { ...dep, txHash: '0xabcdef' }, amount: 5n, wasSeen: false });
    expect(a.idempotencyKey).toBe('deposit:dev-evm:0xabcdef:3:credit');
    expect(b.idempotencyKey).toBe(a.idempotencyKey);
    expect(a.reference).toBe('deposit:dev-evm:0xabcdef:3');
    expect(depositSeen({ merchantId: M, coinId: COIN, deposit: { ...dep, generation: 2 }, amount: 1n }).idempotencyKey).toBe(
      'deposit:dev-evm:0xabcdef:3#2:seen',
    );
    expect(releaseHold({ merchantId: M, coinId: COIN, withdrawalId: 'w', held: 1n }).idempotencyKey).toBe(
      settleHold({ merchantId: M, coinId: COIN, withdrawalId: 'w', held: 1n, sent: 1n, fee: 0n }).idempotencyKey,
    );
  });

  it('a reversal after credit takes what available covers and books the rest as debt', () => {
    const book = new Book();
    book.apply(depositConfirmed({ merchantId: M, coinId: COIN, deposit: dep, amount: 10n, wasSeen: false }));
    book.apply(holdForWithdrawal({ merchantId: M, coinId: COIN, withdrawalId: 'w', amount: 7n }));
    const r = book.apply(depositReorgedAfterCredit({ merchantId: M, coinId: COIN, deposit: dep, amount: 10n }))!;
    expectBalanced(r);
    expect(book.bal(ref('available'))).toBe(0n);
    expect(book.bal(ref('debt'))).toBe(-7n);
    expect(book.bal(ref('held'))).toBe(7n);
    // The next credit repays the debt before anything becomes spendable.
    book.apply(depositConfirmed({ merchantId: M, coinId: COIN, deposit: { ...dep, index: 4 }, amount: 5n, wasSeen: false }));
    expect(book.bal(ref('debt'))).toBe(-2n);
    expect(book.bal(ref('available'))).toBe(0n);
    book.apply(releaseHold({ merchantId: M, coinId: COIN, withdrawalId: 'w', held: 7n }));
    expect(book.bal(ref('debt'))).toBe(0n);
    expect(book.bal(ref('available'))).toBe(5n);
  });

  it('settle returns the unused fee budget and refuses more than the hold', () => {
    const p = settleHold({ merchantId: M, coinId: COIN, withdrawalId: 'w', held: 10n, sent: 7n, fee: 2n });
    expect(p.entries.map((e) => [e.account.kind, e.amount])).toEqual([
      ['held', -10n],
      ['external_chain', 7n],
      ['external_fees', 2n],
      ['available', 1n],
    ]);
    expect(() => settleHold({ merchantId: M, coinId: COIN, withdrawalId: 'w', held: 10n, sent: 9n, fee: 2n })).toThrow(AppError);
  });

  it('a hold beyond available is overdrawn; refused inputs are BAD_USER_INPUT', () => {
    const p = holdForWithdrawal({ merchantId: M, coinId: COIN, withdrawalId: 'w', amount: 5n });
    expect(
      overdrawn(
        resolvePosting(p, () => 4n),
        () => 4n,
      ).map((e) => e.account.kind),
    ).toEqual(['available']);
    expect(
      overdrawn(
        resolvePosting(p, () => 5n),
        () => 5n,
      ),
    ).toEqual([]);
    for (const bad of [
      () => depositSeen({ merchantId: M, coinId: COIN, deposit: dep, amount: 0n }),
      () => depositSeen({ merchantId: M, coinId: COIN, deposit: { ...dep, index: -1 }, amount: 1n }),
      () => assertPosting({ idempotencyKey: 'k', kind: 'x', reference: 'r', entries: [{ account: ref('available'), amount: 1n }] }),
      () => assertPosting({ idempotencyKey: 'k', kind: 'Bad Kind', reference: 'r', entries: [] }),
      () =>
        assertPosting({
          idempotencyKey: 'k',
          kind: 'x',
          reference: 'r',
          entries: [
            { account: ref('available'), amount: -1n, shortfallTo: ref('debt', M2) },
            { account: ref('external_chain'), amount: 1n },
          ],
        }),
    ]) {
      expect(bad).toThrow(AppError);
    }
  });

  it('lists accounts in one global order, including shortfall and repayment targets', () => {
    const p = depositReorgedAfterCredit({ merchantId: M, coinId: COIN, deposit: dep, amount: 5n });
    expect(accountsOf(p).map((a) => a.kind)).toEqual(['available', 'debt', 'external_chain']);
  });
});

// mulberry32: a fixed seed makes a failing sequence reproducible from the test output.
function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('random sequences', () => {
  it.each([1, 7, 42, 2026, 31337])('seed %i: every coin sums to zero and no floor is crossed', (seed) => {
    const rnd = prng(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    const amount = () => BigInt(1 + Math.floor(rnd() * 1000));
    const merchants = [M, M2];
    const coins = ['dev-evm:USDT', 'dev-evm:ETH'];
    const book = new Book();
    const deposits: { merchantId: string; coinId: string; index: number; amount: bigint; state: 'seen' | 'credited' | 'gone' }[] = [];
    const holds: { merchantId: string; coinId: string; id: string; amount: bigint; open: boolean }[] = [];
    let applied = 0;
    for (let step = 0; step < 400; step++) {
      const merchantId = pick(merchants);
      const coinId = pick(coins);
      const op = Math.floor(rnd() * 6);
      let p: Posting | undefined;
      if (op === 0) {
        const d = { merchantId, coinId, index: step, amount: amount(), state: 'seen' as const };
        deposits.push(d);
        p = depositSeen({ merchantId, coinId, deposit: { ...dep, index: d.index }, amount: d.amount });
      } else if (op === 1 && deposits.length) {
        const d = pick(deposits);
        const input = { merchantId: d.merchantId, coinId: d.coinId, deposit: { ...dep, index: d.index }, amount: d.amount };
        if (d.state === 'seen') {
          p = rnd() < 0.8 ? depositConfirmed({ ...input, wasSeen: true }) : depositReorgedBeforeCredit(input);
          d.state = p.kind === 'deposit_confirmed' ? 'credited' : 'gone';
        } else if (d.state === 'credited') {
          p = depositReorgedAfterCredit(input);
          d.state = 'gone';
        }
      } else if (op === 2) {
        p = unsolicitedCredit({ merchantId, coinId, deposit: { ...dep, txHash: '0xbeef', index: step }, amount: amount(), wasSeen: false });
      } else if (op === 3) {
        const h = { merchantId, coinId, id: `w${step}`, amount: amount(), open: true };
        p = holdForWithdrawal({ merchantId, coinId, withdrawalId: h.id, amount: h.amount });
        if (book.apply(p)) {
          holds.push(h);
          applied++;
        }
        p = undefined;
      } else if (op >= 4 && holds.some((h) => h.open)) {
        const h = pick(holds.filter((x) => x.open));
        h.open = false;
        const sent = 1n + BigInt(Math.floor(rnd() * Number(h.amount)));
        const fee = sent < h.amount ? BigInt(Math.floor(rnd() * Number(h.amount - sent + 1n))) : 0n;
        p = op === 4 ? releaseHold({ ...h, withdrawalId: h.id, held: h.amount }) : settleHold({ ...h, withdrawalId: h.id, held: h.amount, sent, fee });
      }
      if (p) {
        const r = book.apply(p);
        if (r) {
          applied++;
          expectBalanced(r);
        }
        // Replaying any posting is a no-op.
        expect(book.apply(p)).toBeNull();
      }
      const totals = new Map<string, bigint>();
      for (const [k, v] of book.balances) {
        const [, coin, kind] = k.split('|') as [string, string, AccountRef['kind']];
        totals.set(coin, (totals.get(coin) ?? 0n) + v);
        if (!ALLOW_NEGATIVE[kind]) expect(v).toBeGreaterThanOrEqual(0n);
        if (kind === 'debt') expect(v).toBeLessThanOrEqual(0n);
      }
      for (const [, t] of totals) expect(t).toBe(0n);
    }
    expect(applied).toBeGreaterThan(100);
  });
});

describe('cold forward', () => {
  it('moves a confirmed cold forward from available to custody, once per step; a withdrawal hold then cannot take it', () => {
    const book = new Book();
    book.apply(depositConfirmed({ merchantId: M, coinId: COIN, deposit: dep, amount: 90n, wasSeen: false }));
    const step = '33333333-3333-4333-8333-333333333333';
    expect(book.apply(coldForward({ merchantId: M, coinId: COIN, stepId: step, amount: 40n }))).not.toBeNull();
    expect(book.apply(coldForward({ merchantId: M, coinId: COIN, stepId: step, amount: 40n }))).toBeNull();
    expect([book.bal(ref('available')), book.bal(ref('custody'))]).toEqual([50n, 40n]);
    expect(book.apply(holdForWithdrawal({ merchantId: M, coinId: COIN, withdrawalId: 'w1', amount: 60n }))).toBeNull();
    expect(book.apply(holdForWithdrawal({ merchantId: M, coinId: COIN, withdrawalId: 'w2', amount: 50n }))).not.toBeNull();
    expect(ALLOW_NEGATIVE.custody).toBe(false);
  });

  it('is never refused: money already gone that available cannot cover becomes debt', () => {
    const book = new Book();
    book.apply(depositConfirmed({ merchantId: M, coinId: COIN, deposit: dep, amount: 10n, wasSeen: false }));
    expect(book.apply(coldForward({ merchantId: M, coinId: COIN, stepId: '44444444-4444-4444-8444-444444444444', amount: 15n }))).not.toBeNull();
    expect([book.bal(ref('available')), book.bal(ref('custody')), book.bal(ref('debt'))]).toEqual([0n, 15n, -5n]);
  });
});
