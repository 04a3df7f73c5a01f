import { prng } from '@cpg/devkit/testing/prng';
import {
  PAYMENT_STATUSES,
  canCancel,
  paidThreshold,
  reducePayment,
  type DepositSnapshot,
  type DepositStatus,
  type PaymentEventName,
  type PaymentOutcome,
  type PaymentSnapshot,
  type PaymentStatus,
  type Tolerance,
} from './status-machine';

// Expected statuses and sums are written out by hand from the rules at the top of
// status-machine.ts, never computed through the module, so a bug cannot agree with itself.

const T0 = Date.parse('2026-01-01T00:00:00Z');
const minutes = (m: number) => new Date(T0 + m * 60_000);
const EXPIRES = minutes(60);
const BEFORE = minutes(10);
const AFTER = minutes(90);
const FIVE_PERCENT: Tolerance = { numerator: 5n, denominator: 100n };
const NO_TOLERANCE: Tolerance = { numerator: 0n, denominator: 1n };

function payment(over: Partial<PaymentSnapshot> = {}): PaymentSnapshot {
  return { amount: 100n, tolerance: FIVE_PERCENT, expiresAt: EXPIRES, status: 'PENDING', paidLate: false, cancelled: false, onHold: false, ...over };
}

let nextId = 0;
function dep(amount: bigint, status: DepositStatus = 'SEEN', over: Partial<DepositSnapshot> = {}): DepositSnapshot {
  nextId += 1;
  return { id: `d${nextId}`, amount, status, belowMinimum: false, detectedAt: BEFORE, ...over };
}

const names = (o: PaymentOutcome) => o.events.map((e) => e.name);

/** Stores an outcome on the snapshot, as the consumer does inside its transaction. */
function stored(p: PaymentSnapshot, o: PaymentOutcome): PaymentSnapshot {
  return { ...p, status: o.status, paidLate: o.paidLate };
}

interface World {
  payment: PaymentSnapshot;
  deposits: DepositSnapshot[];
  now: Date;
}

/** Builds a world whose stored status is what the reducer says, checking it is the intended one. */
function settle(w: World, expected: PaymentStatus): World {
  const o = reducePayment({ payment: w.payment, deposits: w.deposits, now: w.now });
  if (o.status !== expected) throw new Error(`setup for ${expected} reduced to ${o.status}`);
  return { ...w, payment: stored(w.payment, o) };
}

// One setup per status. Amount 100, tolerance 5% (threshold 95), expiry at minute 60.
const SETUPS: Record<PaymentStatus, () => World> = {
  PENDING: () => ({ payment: payment(), deposits: [], now: BEFORE }),
  PARTIALLY_PAID: () => ({ payment: payment(), deposits: [dep(40n)], now: BEFORE }),
  CONFIRMING: () => ({ payment: payment(), deposits: [dep(100n)], now: BEFORE }),
  PAID: () => ({ payment: payment(), deposits: [dep(100n, 'CONFIRMED')], now: BEFORE }),
  OVERPAID: () => ({ payment: payment(), deposits: [dep(120n, 'CONFIRMED')], now: BEFORE }),
  EXPIRED: () => ({ payment: payment(), deposits: [dep(40n, 'CONFIRMED')], now: AFTER }),
  ON_HOLD: () => ({ payment: payment({ onHold: true }), deposits: [dep(40n)], now: BEFORE }),
  CANCELLED: () => ({ payment: payment({ cancelled: true }), deposits: [], now: BEFORE }),
};

type Change = (w: World) => World;
const CHANGES: Record<string, Change> = {
  deposit_small: (w) => ({ ...w, deposits: [...w.deposits, dep(10n, 'SEEN', { detectedAt: w.now })] }),
  deposit_large: (w) => ({ ...w, deposits: [...w.deposits, dep(100n, 'SEEN', { detectedAt: w.now })] }),
  confirm_all: (w) => ({ ...w, deposits: w.deposits.map((d) => (d.status === 'SEEN' ? { ...d, status: 'CONFIRMED' } : d)) }),
  reorg_all: (w) => ({ ...w, deposits: w.deposits.map((d) => (d.status === 'REORGED' ? d : { ...d, status: 'REORGED' })) }),
  time_passes: (w) => ({ ...w, now: new Date(Math.max(w.now.getTime(), AFTER.getTime()) + 60_000) }),
  hold: (w) => ({ ...w, payment: { ...w.payment, onHold: true } }),
  release: (w) => ({ ...w, payment: { ...w.payment, onHold: false } }),
  cancel: (w) => ({ ...w, payment: { ...w.payment, cancelled: true } }),
  below_minimum: (w) => ({ ...w, deposits: [...w.deposits, dep(1000n, 'SEEN', { belowMinimum: true, detectedAt: w.now })] }),
  held_deposit: (w) => ({ ...w, deposits: [...w.deposits, dep(100n, 'HELD', { detectedAt: w.now })] }),
};

type Row = [from: PaymentStatus, change: keyof typeof CHANGES, to: PaymentStatus, events: PaymentEventName[]];
const TABLE: Row[] = [
  ['PENDING', 'deposit_small', 'PARTIALLY_PAID', ['deposit_seen', 'partially_paid']],
  ['PENDING', 'deposit_large', 'CONFIRMING', ['deposit_seen', 'confirming']],
  ['PENDING', 'confirm_all', 'PENDING', []],
  ['PENDING', 'reorg_all', 'PENDING', []],
  ['PENDING', 'time_passes', 'EXPIRED', ['expired']],
  ['PENDING', 'hold', 'ON_HOLD', ['on_hold']],
  ['PENDING', 'release', 'PENDING', []],
  ['PENDING', 'cancel', 'CANCELLED', ['cancelled']],
  ['PENDING', 'below_minimum', 'PENDING', ['deposit_seen']],
  ['PENDING', 'held_deposit', 'PENDING', ['deposit_seen']],

  ['PARTIALLY_PAID', 'deposit_small', 'PARTIALLY_PAID', ['deposit_seen']],
  ['PARTIALLY_PAID', 'deposit_large', 'CONFIRMING', ['deposit_seen', 'confirming']],
  ['PARTIALLY_PAID', 'confirm_all', 'PARTIALLY_PAID', []],
  ['PARTIALLY_PAID', 'reorg_all', 'PENDING', ['deposit_reorged']],
  ['PARTIALLY_PAID', 'time_passes', 'EXPIRED', ['expired']],
  ['PARTIALLY_PAID', 'hold', 'ON_HOLD', ['on_hold']],
  ['PARTIALLY_PAID', 'release', 'PARTIALLY_PAID', []],
  ['PARTIALLY_PAID', 'cancel', 'CANCELLED', ['cancelled']],
  ['PARTIALLY_PAID', 'below_minimum', 'PARTIALLY_PAID', ['deposit_seen']],
  ['PARTIALLY_PAID', 'held_deposit', 'PARTIALLY_PAID', ['deposit_seen']],

  ['CONFIRMING', 'deposit_small', 'CONFIRMING', ['deposit_seen']],
  ['CONFIRMING', 'deposit_large', 'CONFIRMING', ['deposit_seen']],
  ['CONFIRMING', 'confirm_all', 'PAID', ['paid']],
  ['CONFIRMING', 'reorg_all', 'PENDING', ['deposit_reorged']],
  ['CONFIRMING', 'time_passes', 'CONFIRMING', []],
  ['CONFIRMING', 'hold', 'ON_HOLD', ['on_hold']],
  ['CONFIRMING', 'release', 'CONFIRMING', []],
  ['CONFIRMING', 'cancel', 'CANCELLED', ['cancelled']],
  ['CONFIRMING', 'below_minimum', 'CONFIRMING', ['deposit_seen']],
  ['CONFIRMING', 'held_deposit', 'CONFIRMING', ['deposit_seen']],

  ['PAID', 'deposit_small', 'PAID', ['deposit_seen']],
  ['PAID', 'deposit_large', 'PAID', ['deposit_seen']],
  ['PAID', 'confirm_all', 'PAID', []],
  ['PAID', 'reorg_all', 'PENDING', ['deposit_reorged']],
  ['PAID', 'time_passes', 'PAID', []],
  ['PAID', 'hold', 'ON_HOLD', ['on_hold']],
  ['PAID', 'release', 'PAID', []],
  ['PAID', 'cancel', 'CANCELLED', ['cancelled']],
  ['PAID', 'below_minimum', 'PAID', ['deposit_seen']],
  ['PAID', 'held_deposit', 'PAID', ['deposit_seen']],

  ['OVERPAID', 'deposit_small', 'OVERPAID', ['deposit_seen']],
  ['OVERPAID', 'deposit_large', 'OVERPAID', ['deposit_seen']],
  ['OVERPAID', 'confirm_all', 'OVERPAID', []],
  ['OVERPAID', 'reorg_all', 'PENDING', ['deposit_reorged']],
  ['OVERPAID', 'time_passes', 'OVERPAID', []],
  ['OVERPAID', 'hold', 'ON_HOLD', ['on_hold']],
  ['OVERPAID', 'release', 'OVERPAID', []],
  ['OVERPAID', 'cancel', 'CANCELLED', ['cancelled']],
  ['OVERPAID', 'below_minimum', 'OVERPAID', ['deposit_seen']],
  ['OVERPAID', 'held_deposit', 'OVERPAID', ['deposit_seen']],

  // The EXPIRED setup is past expiry, so every new deposit here is a late one.
  ['EXPIRED', 'deposit_small', 'EXPIRED', ['deposit_seen', 'paid_late']],
  ['EXPIRED', 'deposit_large', 'CONFIRMING', ['deposit_seen', 'paid_late', 'confirming']],
  ['EXPIRED', 'confirm_all', 'EXPIRED', []],
  ['EXPIRED', 'reorg_all', 'EXPIRED', ['deposit_reorged']],
  ['EXPIRED', 'time_passes', 'EXPIRED', []],
  ['EXPIRED', 'hold', 'ON_HOLD', ['on_hold']],
  ['EXPIRED', 'release', 'EXPIRED', []],
  ['EXPIRED', 'cancel', 'CANCELLED', ['cancelled']],
  ['EXPIRED', 'below_minimum', 'EXPIRED', ['deposit_seen']],
  ['EXPIRED', 'held_deposit', 'EXPIRED', ['deposit_seen']],

  ['ON_HOLD', 'deposit_small', 'ON_HOLD', ['deposit_seen']],
  ['ON_HOLD', 'deposit_large', 'ON_HOLD', ['deposit_seen']],
  ['ON_HOLD', 'confirm_all', 'ON_HOLD', []],
  ['ON_HOLD', 'reorg_all', 'ON_HOLD', ['deposit_reorged']],
  ['ON_HOLD', 'time_passes', 'ON_HOLD', []],
  ['ON_HOLD', 'hold', 'ON_HOLD', []],
  ['ON_HOLD', 'release', 'PARTIALLY_PAID', ['partially_paid']],
  ['ON_HOLD', 'cancel', 'CANCELLED', ['cancelled']],
  ['ON_HOLD', 'below_minimum', 'ON_HOLD', ['deposit_seen']],
  ['ON_HOLD', 'held_deposit', 'ON_HOLD', ['deposit_seen']],

  ['CANCELLED', 'deposit_small', 'CANCELLED', ['deposit_seen']],
  ['CANCELLED', 'deposit_large', 'CANCELLED', ['deposit_seen']],
  ['CANCELLED', 'confirm_all', 'CANCELLED', []],
  ['CANCELLED', 'reorg_all', 'CANCELLED', []],
  ['CANCELLED', 'time_passes', 'CANCELLED', []],
  ['CANCELLED', 'hold', 'CANCELLED', []],
  ['CANCELLED', 'release', 'CANCELLED', []],
  ['CANCELLED', 'cancel', 'CANCELLED', []],
  ['CANCELLED', 'below_minimum', 'CANCELLED', ['deposit_seen']],
  ['CANCELLED', 'held_deposit', 'CANCELLED', ['deposit_seen']],
];

describe('status x change table', () => {
  it('covers every status with every change', () => {
    const covered = new Set(TABLE.map(([from, change]) => `${from}/${change}`));
    for (const s of PAYMENT_STATUSES) for (const c of Object.keys(CHANGES)) expect(covered).toContain(`${s}/${c}`);
    expect(TABLE).toHaveLength(PAYMENT_STATUSES.length * Object.keys(CHANGES).length);
  });

  it.each(TABLE)('%s + %s -> %s %j', (from, change, to, events) => {
    const before = settle(SETUPS[from](), from);
    const after = CHANGES[change](before);
    const o = reducePayment({ payment: after.payment, deposits: after.deposits, previousDeposits: before.deposits, now: after.now });
    expect(o.status).toBe(to);
    expect(names(o)).toEqual(events);
    // Stored and reduced again with nothing new: same state, nothing to announce.
    const again = reducePayment({ payment: stored(after.payment, o), deposits: after.deposits, now: after.now });
    expect({ ...again, events: [] }).toEqual({ ...o, events: [] });
    expect(again.events).toEqual([]);
  });
});

describe('amounts', () => {
  it('sums several deposits, confirmed and not', () => {
    const o = reducePayment({ payment: payment(), deposits: [dep(33n, 'CONFIRMED'), dep(33n), dep(33n, 'CONFIRMED'), dep(1n)], now: BEFORE });
    expect([o.amountReceived, o.amountConfirmed, o.amountDue, o.status]).toEqual([100n, 66n, 0n, 'CONFIRMING']);
  });

  it('becomes PAID once the sum of confirmed deposits reaches the amount', () => {
    const o = reducePayment({ payment: payment(), deposits: [dep(30n, 'CONFIRMED'), dep(30n, 'CONFIRMED'), dep(40n, 'CONFIRMED')], now: BEFORE });
    expect([o.amountReceived, o.amountConfirmed, o.amountDue, o.status]).toEqual([100n, 100n, 0n, 'PAID']);
  });

  it('leaves out REORGED, HELD and below-minimum deposits', () => {
    const deposits = [
      dep(10n, 'CONFIRMED'),
      dep(500n, 'REORGED'),
      dep(500n, 'HELD'),
      dep(500n, 'CONFIRMED', { belowMinimum: true }),
      dep(500n, 'SEEN', { belowMinimum: true }),
    ];
    const o = reducePayment({ payment: payment(), deposits, now: BEFORE });
    expect([o.amountReceived, o.amountConfirmed, o.amountDue, o.status]).toEqual([10n, 10n, 90n, 'PARTIALLY_PAID']);
  });

  it('never shows a negative amount due', () => {
    const o = reducePayment({ payment: payment(), deposits: [dep(10_000n, 'CONFIRMED')], now: BEFORE });
    expect(o.amountDue).toBe(0n);
    expect(o.status).toBe('OVERPAID');
  });

  it('keeps the real shortfall as amount due even when the tolerance makes it PAID', () => {
    const o = reducePayment({ payment: payment(), deposits: [dep(96n, 'CONFIRMED')], now: BEFORE });
    expect([o.status, o.amountDue]).toEqual(['PAID', 4n]);
  });

  it('handles amounts far beyond 2^53 exactly', () => {
    const amount = 10n ** 30n;
    const o = reducePayment({ payment: payment({ amount, tolerance: NO_TOLERANCE }), deposits: [dep(amount - 1n, 'CONFIRMED')], now: BEFORE });
    expect([o.status, o.amountDue]).toEqual(['PARTIALLY_PAID', 1n]);
  });
});

describe('tolerance edges', () => {
  // amount 1000, tolerance 1% -> 10 units of allowance -> threshold 990.
  const p = payment({ amount: 1000n, tolerance: { numerator: 1n, denominator: 100n } });
  it.each<[bigint, DepositStatus, Date, PaymentStatus]>([
    [989n, 'CONFIRMED', BEFORE, 'PARTIALLY_PAID'],
    [990n, 'CONFIRMED', BEFORE, 'PAID'],
    [991n, 'CONFIRMED', BEFORE, 'PAID'],
    [999n, 'CONFIRMED', BEFORE, 'PAID'],
    [1000n, 'CONFIRMED', BEFORE, 'PAID'],
    [1001n, 'CONFIRMED', BEFORE, 'OVERPAID'],
    [989n, 'SEEN', BEFORE, 'PARTIALLY_PAID'],
    [990n, 'SEEN', BEFORE, 'CONFIRMING'],
    [991n, 'SEEN', BEFORE, 'CONFIRMING'],
    [1001n, 'SEEN', BEFORE, 'CONFIRMING'],
    [989n, 'CONFIRMED', AFTER, 'EXPIRED'],
    [990n, 'CONFIRMED', AFTER, 'PAID'],
    [989n, 'SEEN', AFTER, 'EXPIRED'],
    [990n, 'SEEN', AFTER, 'CONFIRMING'],
  ])('%s %s at %s -> %s', (amount, status, now, expected) => {
    expect(reducePayment({ payment: p, deposits: [dep(amount, status)], now }).status).toBe(expected);
  });

  it('rounds the allowance down: 1% of 999 allows 9 units, not 9.99', () => {
    const q = payment({ amount: 999n, tolerance: { numerator: 1n, denominator: 100n } });
    expect(paidThreshold(999n, q.tolerance)).toBe(990n);
    expect(reducePayment({ payment: q, deposits: [dep(989n, 'CONFIRMED')], now: BEFORE }).status).toBe('PARTIALLY_PAID');
    expect(reducePayment({ payment: q, deposits: [dep(990n, 'CONFIRMED')], now: BEFORE }).status).toBe('PAID');
  });

  it('with zero tolerance one unit short is not paid', () => {
    const q = payment({ tolerance: NO_TOLERANCE });
    expect(reducePayment({ payment: q, deposits: [dep(99n, 'CONFIRMED')], now: BEFORE }).status).toBe('PARTIALLY_PAID');
    expect(reducePayment({ payment: q, deposits: [dep(100n, 'CONFIRMED')], now: BEFORE }).status).toBe('PAID');
  });

  it('a tolerance too small to allow one unit changes nothing', () => {
    const q = payment({ tolerance: { numerator: 1n, denominator: 1000n } });
    expect(reducePayment({ payment: q, deposits: [dep(99n, 'CONFIRMED')], now: BEFORE }).status).toBe('PARTIALLY_PAID');
  });
});

describe('expiry', () => {
  it.each<[Date, PaymentStatus]>([
    [new Date(EXPIRES.getTime() - 1), 'PENDING'],
    [EXPIRES, 'EXPIRED'],
    [new Date(EXPIRES.getTime() + 1), 'EXPIRED'],
  ])('with nothing received at %s -> %s', (now, expected) => {
    expect(reducePayment({ payment: payment(), deposits: [], now }).status).toBe(expected);
  });

  it('a payment CONFIRMING at expiry proceeds to PAID without paidLate', () => {
    const deposits = [dep(100n)];
    const confirming = reducePayment({ payment: payment(), deposits, now: AFTER });
    expect([confirming.status, confirming.paidLate]).toEqual(['CONFIRMING', false]);
    const paid = reducePayment({ payment: stored(payment(), confirming), deposits: [{ ...deposits[0], status: 'CONFIRMED' }], now: AFTER });
    expect([paid.status, paid.paidLate, names(paid)]).toEqual(['PAID', false, ['paid']]);
  });
});

describe('paidLate', () => {
  it('EXPIRED -> CONFIRMING -> PAID with paidLate when the rest arrives late', () => {
    const early = dep(40n, 'CONFIRMED', { detectedAt: BEFORE });
    const expired = settle({ payment: payment(), deposits: [early], now: AFTER }, 'EXPIRED');
    const late = dep(60n, 'SEEN', { detectedAt: AFTER });
    const confirming = reducePayment({ payment: expired.payment, deposits: [early, late], previousDeposits: [early], now: AFTER });
    expect([confirming.status, confirming.paidLate, names(confirming)]).toEqual(['CONFIRMING', true, ['deposit_seen', 'paid_late', 'confirming']]);
    const paid = reducePayment({
      payment: stored(expired.payment, confirming),
      deposits: [early, { ...late, status: 'CONFIRMED' }],
      previousDeposits: [early, late],
      now: AFTER,
    });
    expect([paid.status, paid.paidLate, names(paid)]).toEqual(['PAID', true, ['paid']]);
  });

  it('counts a deposit detected exactly at expiresAt as late', () => {
    const o = reducePayment({ payment: payment(), deposits: [dep(100n, 'SEEN', { detectedAt: EXPIRES })], now: EXPIRES });
    expect([o.status, o.paidLate]).toEqual(['CONFIRMING', true]);
  });

  it('does not count one detected a millisecond before expiresAt as late', () => {
    const o = reducePayment({ payment: payment(), deposits: [dep(100n, 'SEEN', { detectedAt: new Date(EXPIRES.getTime() - 1) })], now: AFTER });
    expect([o.status, o.paidLate]).toEqual(['CONFIRMING', false]);
  });

  it('is not set by extra money after a payment covered in time', () => {
    const o = reducePayment({ payment: payment(), deposits: [dep(100n, 'CONFIRMED'), dep(50n, 'CONFIRMED', { detectedAt: AFTER })], now: AFTER });
    expect([o.status, o.paidLate]).toEqual(['OVERPAID', false]);
  });

  it('is set by a late deposit that still leaves it short, and the status stays EXPIRED', () => {
    const o = reducePayment({ payment: payment(), deposits: [dep(10n, 'SEEN', { detectedAt: AFTER })], now: AFTER });
    expect([o.status, o.paidLate, o.amountDue]).toEqual(['EXPIRED', true, 90n]);
  });

  it('is not set by a late below-minimum or held deposit', () => {
    const deposits = [dep(100n, 'SEEN', { detectedAt: AFTER, belowMinimum: true }), dep(100n, 'HELD', { detectedAt: AFTER })];
    expect(reducePayment({ payment: payment(), deposits, now: AFTER }).paidLate).toBe(false);
  });

  it('clears when the late deposit is reorged, and announces only the reorg and the status', () => {
    const late = dep(100n, 'CONFIRMED', { detectedAt: AFTER });
    const paid = settle({ payment: payment(), deposits: [late], now: AFTER }, 'PAID');
    expect(paid.payment.paidLate).toBe(true);
    const o = reducePayment({ payment: paid.payment, deposits: [{ ...late, status: 'REORGED' }], previousDeposits: [late], now: AFTER });
    expect([o.status, o.paidLate, names(o)]).toEqual(['EXPIRED', false, ['deposit_reorged', 'expired']]);
  });

  it('announces paid_late once', () => {
    const late = dep(100n, 'SEEN', { detectedAt: AFTER });
    const first = reducePayment({ payment: payment({ status: 'EXPIRED' }), deposits: [late], previousDeposits: [], now: AFTER });
    expect(names(first)).toContain('paid_late');
    const second = reducePayment({ payment: stored(payment(), first), deposits: [{ ...late, status: 'CONFIRMED' }], previousDeposits: [late], now: AFTER });
    expect(names(second)).toEqual(['paid']);
  });
});

describe('reorgs move the status down', () => {
  it('PAID -> CONFIRMING when the confirmed part is reorged but unconfirmed money still covers it', () => {
    const a = dep(100n, 'CONFIRMED');
    const b = dep(100n, 'SEEN');
    const w = settle({ payment: payment(), deposits: [a, b], now: BEFORE }, 'PAID');
    const o = reducePayment({ payment: w.payment, deposits: [{ ...a, status: 'REORGED' }, b], previousDeposits: w.deposits, now: BEFORE });
    expect([o.status, o.amountReceived, o.amountConfirmed, names(o)]).toEqual(['CONFIRMING', 100n, 0n, ['deposit_reorged', 'confirming']]);
  });

  it('PAID -> PARTIALLY_PAID before expiry', () => {
    const a = dep(50n, 'CONFIRMED');
    const b = dep(50n, 'CONFIRMED');
    const w = settle({ payment: payment(), deposits: [a, b], now: BEFORE }, 'PAID');
    const o = reducePayment({ payment: w.payment, deposits: [a, { ...b, status: 'REORGED' }], previousDeposits: w.deposits, now: BEFORE });
    expect([o.status, o.amountDue, names(o)]).toEqual(['PARTIALLY_PAID', 50n, ['deposit_reorged', 'partially_paid']]);
  });

  it('PAID -> EXPIRED past expiry', () => {
    const a = dep(50n, 'CONFIRMED');
    const b = dep(50n, 'CONFIRMED');
    const w = settle({ payment: payment(), deposits: [a, b], now: AFTER }, 'PAID');
    const o = reducePayment({ payment: w.payment, deposits: [a, { ...b, status: 'REORGED' }], previousDeposits: w.deposits, now: AFTER });
    expect([o.status, names(o)]).toEqual(['EXPIRED', ['deposit_reorged', 'expired']]);
  });

  it('OVERPAID -> PAID when the extra is reorged', () => {
    const a = dep(100n, 'CONFIRMED');
    const b = dep(20n, 'CONFIRMED');
    const w = settle({ payment: payment(), deposits: [a, b], now: BEFORE }, 'OVERPAID');
    const o = reducePayment({ payment: w.payment, deposits: [a, { ...b, status: 'REORGED' }], previousDeposits: w.deposits, now: BEFORE });
    expect([o.status, names(o)]).toEqual(['PAID', ['deposit_reorged', 'paid']]);
  });

  it('a reorged deposit mined again is seen again and the status comes back', () => {
    const a = dep(100n, 'REORGED');
    const w = settle({ payment: payment({ status: 'PAID' }), deposits: [a], now: BEFORE }, 'PENDING');
    const o = reducePayment({ payment: w.payment, deposits: [{ ...a, status: 'SEEN' }], previousDeposits: [a], now: BEFORE });
    expect([o.status, names(o)]).toEqual(['CONFIRMING', ['deposit_seen', 'confirming']]);
  });

  it('a reorg and a new deposit in one step both get their event', () => {
    const a = dep(100n, 'SEEN');
    const b = dep(100n, 'SEEN');
    const w = settle({ payment: payment(), deposits: [a], now: BEFORE }, 'CONFIRMING');
    const o = reducePayment({ payment: w.payment, deposits: [{ ...a, status: 'REORGED' }, b], previousDeposits: [a], now: BEFORE });
    expect([o.status, o.events]).toEqual([
      'CONFIRMING',
      [
        { name: 'deposit_reorged', depositId: a.id },
        { name: 'deposit_seen', depositId: b.id },
      ],
    ]);
  });

  it('a deposit first seen already reorged announces nothing', () => {
    const o = reducePayment({ payment: payment(), deposits: [dep(100n, 'REORGED')], previousDeposits: [], now: BEFORE });
    expect(o.events).toEqual([]);
  });
});

describe('open amounts', () => {
  const open = () => payment({ amount: null });
  it.each<[DepositSnapshot[], Date, PaymentStatus, bigint, bigint]>([
    [[], BEFORE, 'PENDING', 0n, 0n],
    [[], AFTER, 'EXPIRED', 0n, 0n],
    [[dep(1n)], BEFORE, 'CONFIRMING', 1n, 0n],
    [[dep(1n, 'CONFIRMED')], BEFORE, 'PAID', 1n, 1n],
    [[dep(10n ** 40n, 'CONFIRMED')], BEFORE, 'PAID', 10n ** 40n, 10n ** 40n],
    [[dep(5n, 'CONFIRMED'), dep(7n)], BEFORE, 'PAID', 12n, 5n],
    [[dep(5n)], AFTER, 'CONFIRMING', 5n, 0n],
    [[dep(5n, 'REORGED')], AFTER, 'EXPIRED', 0n, 0n],
    [[dep(5n, 'SEEN', { belowMinimum: true })], BEFORE, 'PENDING', 0n, 0n],
  ])('%# -> %s', (deposits, now, status, received, confirmed) => {
    const o = reducePayment({ payment: open(), deposits, now });
    expect([o.status, o.amountReceived, o.amountConfirmed, o.amountDue]).toEqual([status, received, confirmed, null]);
  });

  it('a deposit after expiry sets paidLate and is accepted', () => {
    const o = reducePayment({
      payment: { ...open(), status: 'EXPIRED' },
      deposits: [dep(5n, 'SEEN', { detectedAt: AFTER })],
      previousDeposits: [],
      now: AFTER,
    });
    expect([o.status, o.paidLate, names(o)]).toEqual(['CONFIRMING', true, ['deposit_seen', 'paid_late', 'confirming']]);
  });

  it('a later deposit on an open payment paid in time is not late', () => {
    const o = reducePayment({ payment: open(), deposits: [dep(5n, 'CONFIRMED'), dep(5n, 'SEEN', { detectedAt: AFTER })], now: AFTER });
    expect([o.status, o.paidLate]).toEqual(['PAID', false]);
  });
});

describe('sticky states', () => {
  it('CANCELLED wins over ON_HOLD and over any amount', () => {
    const o = reducePayment({ payment: payment({ cancelled: true, onHold: true }), deposits: [dep(500n, 'CONFIRMED')], now: AFTER });
    expect(o.status).toBe('CANCELLED');
    expect([o.amountReceived, o.amountConfirmed]).toEqual([500n, 500n]);
  });

  it('ON_HOLD stays through confirmations and expiry until released', () => {
    let p = payment({ onHold: true, status: 'ON_HOLD' });
    const a = dep(100n);
    for (const [deposits, now] of [
      [[a], BEFORE],
      [[{ ...a, status: 'CONFIRMED' as const }], BEFORE],
      [[{ ...a, status: 'CONFIRMED' as const }], AFTER],
    ] as const) {
      const o = reducePayment({ payment: p, deposits, now });
      expect(o.status).toBe('ON_HOLD');
      p = stored(p, o);
    }
    const released = reducePayment({ payment: { ...p, onHold: false }, deposits: [{ ...a, status: 'CONFIRMED' }], now: AFTER });
    expect([released.status, names(released)]).toEqual(['PAID', ['paid']]);
  });

  it('a stored sticky status with its flag cleared is the explicit leave, not a bug', () => {
    const o = reducePayment({ payment: payment({ status: 'ON_HOLD' }), deposits: [], now: AFTER });
    expect([o.status, names(o)]).toEqual(['EXPIRED', ['expired']]);
  });
});

describe('creation', () => {
  it('announces created for a new payment', () => {
    const o = reducePayment({ payment: payment({ status: null }), deposits: [], now: BEFORE });
    expect([o.status, names(o), o.amountDue]).toEqual(['PENDING', ['created'], 100n]);
  });

  it('announces created then the status when a new payment is born expired', () => {
    const o = reducePayment({ payment: payment({ status: null }), deposits: [], now: AFTER });
    expect(names(o)).toEqual(['created', 'expired']);
  });
});

describe('idempotence', () => {
  it.each(Object.keys(SETUPS) as PaymentStatus[])('reducing a stored %s again gives the same result and no events', (s) => {
    const w = settle(SETUPS[s](), s);
    const a = reducePayment({ payment: w.payment, deposits: w.deposits, now: w.now });
    const b = reducePayment({ payment: w.payment, deposits: w.deposits, previousDeposits: w.deposits, now: w.now });
    expect(a).toEqual(b);
    expect(a.events).toEqual([]);
  });

  it('the same inputs twice give the same output', () => {
    const input = { payment: payment(), deposits: [dep(60n), dep(40n, 'CONFIRMED')], previousDeposits: [], now: BEFORE };
    expect(reducePayment(input)).toEqual(reducePayment(input));
  });

  it('does not mutate its inputs', () => {
    const p = payment();
    const deposits = [dep(60n)];
    const copy = JSON.stringify([p, deposits], (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));
    reducePayment({ payment: p, deposits, previousDeposits: [], now: AFTER });
    expect(JSON.stringify([p, deposits], (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v))).toBe(copy);
  });
});

describe('bad snapshots are programming errors', () => {
  it.each<[string, () => unknown]>([
    ['zero amount', () => reducePayment({ payment: payment({ amount: 0n }), deposits: [], now: BEFORE })],
    ['number amount', () => reducePayment({ payment: payment({ amount: 100 as unknown as bigint }), deposits: [], now: BEFORE })],
    ['tolerance above 1', () => reducePayment({ payment: payment({ tolerance: { numerator: 2n, denominator: 1n } }), deposits: [], now: BEFORE })],
    ['zero denominator', () => reducePayment({ payment: payment({ tolerance: { numerator: 0n, denominator: 0n } }), deposits: [], now: BEFORE })],
    ['negative deposit', () => reducePayment({ payment: payment(), deposits: [dep(-1n)], now: BEFORE })],
    ['number deposit', () => reducePayment({ payment: payment(), deposits: [dep(1 as unknown as bigint)], now: BEFORE })],
    ['unknown deposit status', () => reducePayment({ payment: payment(), deposits: [dep(1n, 'LOST' as DepositStatus)], now: BEFORE })],
    ['invalid expiry', () => reducePayment({ payment: payment({ expiresAt: new Date('nope') }), deposits: [], now: BEFORE })],
  ])('%s throws', (_label, fn) => {
    expect(fn).toThrow();
  });
});

describe('canCancel', () => {
  const open = { cancelled: false, onHold: false };
  it.each<[string, { cancelled: boolean; onHold: boolean }, DepositSnapshot[], boolean]>([
    ['no deposits', open, [], true],
    ['only reorged', open, [dep(100n, 'REORGED')], true],
    ['only below minimum', open, [dep(1n, 'SEEN', { belowMinimum: true }), dep(1n, 'CONFIRMED', { belowMinimum: true })], true],
    ['a seen deposit', open, [dep(1n)], false],
    ['a confirmed deposit', open, [dep(1n, 'CONFIRMED')], false],
    ['a held deposit', open, [dep(1n, 'HELD')], false],
    ['on hold', { cancelled: false, onHold: true }, [], false],
    ['already cancelled (retry is a no-op)', { cancelled: true, onHold: false }, [dep(1n)], true],
  ])('%s -> %s', (_label, p, deposits, expected) => {
    expect(canCancel(p, deposits)).toBe(expected);
  });
});

describe('property: invariants over random deposit sequences', () => {
  const SEEDS = Array.from({ length: 200 }, (_, i) => BigInt(i) * 7919n + 1n);

  it.each(SEEDS.map((s) => [s]))('seed %s', (seed) => {
    const r = prng(seed);
    const amount = r.int(5) === 0 ? null : 1n + r.big(10_000n);
    const tolerance = r.pick<Tolerance>([NO_TOLERANCE, FIVE_PERCENT, { numerator: 1n, denominator: 3n }, { numerator: 1n, denominator: 1000n }]);
    let p: PaymentSnapshot = { amount, tolerance, expiresAt: EXPIRES, status: null, paidLate: false, cancelled: false, onHold: false };
    let deposits: DepositSnapshot[] = [];
    let now = minutes(0);
    let id = 0;
    const unit = amount ?? 1000n;

    for (let step = 0; step < 30; step += 1) {
      const previous = deposits;
      switch (r.int(8)) {
        case 0:
        case 1:
          id += 1;
          deposits = [
            ...deposits,
            {
              id: `r${id}`,
              amount: r.big(unit) + 1n,
              status: r.pick(['SEEN', 'SEEN', 'CONFIRMED', 'HELD'] as const),
              belowMinimum: r.int(6) === 0,
              detectedAt: now,
            },
          ];
          break;
        case 2:
          deposits = deposits.map((d) => (d.status === 'SEEN' && r.int(2) === 0 ? { ...d, status: 'CONFIRMED' } : d));
          break;
        case 3:
          deposits = deposits.map((d) => (d.status !== 'REORGED' && r.int(3) === 0 ? { ...d, status: 'REORGED' } : d));
          break;
        case 4:
          deposits = deposits.map((d) => (d.status === 'REORGED' && r.int(2) === 0 ? { ...d, status: 'SEEN' } : d));
          break;
        case 5:
          now = new Date(now.getTime() + r.int(40) * 60_000);
          break;
        case 6:
          p = { ...p, onHold: r.int(4) === 0 };
          break;
        default:
          if (r.int(10) === 0 && canCancel(p, deposits)) p = { ...p, cancelled: true };
      }

      const o = reducePayment({ payment: p, deposits, previousDeposits: previous, now });
      const counted = deposits.filter((d) => !d.belowMinimum && (d.status === 'SEEN' || d.status === 'CONFIRMED'));
      const received = counted.reduce((s, d) => s + d.amount, 0n);
      const confirmed = counted.filter((d) => d.status === 'CONFIRMED').reduce((s, d) => s + d.amount, 0n);
      const expired = now.getTime() >= EXPIRES.getTime();
      const threshold = amount === null ? 1n : amount - (amount * tolerance.numerator) / tolerance.denominator;

      expect(o.amountReceived).toBe(received);
      expect(o.amountConfirmed).toBe(confirmed);
      expect(o.amountDue).toBe(amount === null ? null : received >= amount ? 0n : amount - received);
      if (p.cancelled) expect(o.status).toBe('CANCELLED');
      else if (p.onHold) expect(o.status).toBe('ON_HOLD');
      switch (o.status) {
        case 'PAID':
          expect(confirmed >= threshold).toBe(true);
          if (amount !== null) expect(confirmed <= amount).toBe(true);
          break;
        case 'OVERPAID':
          expect(amount !== null && confirmed > amount).toBe(true);
          break;
        case 'CONFIRMING':
          expect(received >= threshold && confirmed < threshold).toBe(true);
          break;
        case 'PARTIALLY_PAID':
          expect(amount !== null && received > 0n && received < threshold && !expired).toBe(true);
          break;
        case 'EXPIRED':
          expect(expired && received < threshold).toBe(true);
          break;
        case 'PENDING':
          expect(received === 0n && !expired).toBe(true);
          break;
        case 'ON_HOLD':
          expect(p.onHold && !p.cancelled).toBe(true);
          break;
        case 'CANCELLED':
          expect(p.cancelled).toBe(true);
          break;
      }
      if (o.paidLate) expect(counted.some((d) => d.detectedAt.getTime() >= EXPIRES.getTime())).toBe(true);
      const statusEvents = o.events.filter((e) => !['created', 'deposit_seen', 'deposit_reorged', 'paid_late'].includes(e.name));
      expect(statusEvents.length).toBe(o.status !== (p.status ?? 'PENDING') && o.status !== 'PENDING' ? 1 : 0);
      expect(o.events.filter((e) => e.name === 'paid_late').length).toBe(o.paidLate && !p.paidLate ? 1 : 0);

      p = stored(p, o);
      const again = reducePayment({ payment: p, deposits, now });
      expect(again.events).toEqual([]);
      expect(again.status).toBe(o.status);
    }
  });
});
