import type { PaymentEventName, PaymentStatus } from '@cpg/core/bus/catalogue/payments';

/**
 * The payment status machine, as one pure reducer: everything the status depends on goes in, the
 * status, the amounts and the webhook-worthy transitions come out. It is applied under the
 * payment's row lock after every change to the payment or its deposits (a deposit seen, confirmed,
 * reorged or held; expiry; cancel; hold/release), and the result is written back with an outbox
 * row per event in the same transaction. Being a function of the stored facts, not of the event
 * that triggered it, is what makes redelivery harmless: the same facts give the same state and,
 * once that state is stored, no events.
 *
 * Rules (decided here; the specs pin each one):
 *
 * - Counted deposits are SEEN or CONFIRMED and not below the coin's minimum. REORGED deposits
 *   were taken back by the chain; HELD ones are frozen by compliance; below-minimum ones are
 *   recorded and shown but neither credited nor counted. None of those move amounts or status.
 * - amountReceived = counted SEEN + CONFIRMED; amountConfirmed = counted CONFIRMED;
 *   amountDue = max(0, amount - amountReceived), null for open amounts. The tolerance does not
 *   shrink amountDue: the customer is shown what is really missing.
 * - Tolerance applies to PAID only: toleranceUnits = floor(amount * tolerance), so the allowance
 *   never exceeds the configured fraction, and threshold = amount - toleranceUnits.
 * - Requested amount, in order of precedence:
 *     confirmed > amount                 -> OVERPAID
 *     confirmed >= threshold             -> PAID (extra still unconfirmed turns it OVERPAID later)
 *     received >= threshold              -> CONFIRMING (whatever the clock says: a payment covered
 *                                           in time, or late, proceeds to PAID)
 *     now >= expiresAt                   -> EXPIRED (received < threshold by now)
 *     received > 0                       -> PARTIALLY_PAID
 *     otherwise                          -> PENDING
 * - Open amount (amount null): confirmed > 0 -> PAID; received > 0 -> CONFIRMING; past expiry
 *   with nothing received -> EXPIRED; otherwise PENDING. Never PARTIALLY_PAID or OVERPAID.
 * - paidLate is derived, not accumulated: true when a counted deposit was detected at or after
 *   expiresAt while the deposits detected before expiresAt did not reach the threshold (any
 *   amount for open payments). Money arriving after a payment was already covered in time is an
 *   overpayment, not a late payment. Because it is derived, a reorg of the late deposit clears it.
 * - A reorg is just a deposit whose status became REORGED: its amount leaves the sums and the
 *   status follows the rules above, so it may go down (PAID -> CONFIRMING, PARTIALLY_PAID,
 *   PENDING, or EXPIRED once past expiry).
 * - CANCELLED and ON_HOLD are sticky: they come from the `cancelled` and `onHold` flags, which
 *   only explicit actions (cancelPayment, a compliance hold/release) change. Cancelled wins over
 *   on hold. Amounts are still computed while sticky, so deposits stay visible.
 * - Events, compared with the previous state: `created` when there was no previous status;
 *   `deposit_seen` for a deposit that is new (or back from REORGED) and not REORGED now;
 *   `deposit_reorged` for a deposit that became REORGED; `paid_late` when paidLate turns true;
 *   then the event of the new status when the status changed (PENDING has none: a drop back to
 *   PENDING is told by its `deposit_reorged`).
 */

// Statuses and event names are the bus catalogue's (`payment.updated`), shared with its consumers.
export { PAYMENT_EVENTS, PAYMENT_STATUSES, type PaymentEventName, type PaymentStatus } from '@cpg/core/bus/catalogue/payments';

export const DEPOSIT_STATUSES = ['SEEN', 'CONFIRMED', 'REORGED', 'HELD'] as const;
export type DepositStatus = (typeof DEPOSIT_STATUSES)[number];

/** Deposit events name their deposit so the webhook can say which transfer it is about. */
export interface PaymentEvent {
  name: PaymentEventName;
  depositId?: string;
}

/** An exact fraction such as parseDecimalRatio("0.005"); numerator <= denominator. */
export interface Tolerance {
  numerator: bigint;
  denominator: bigint;
}

/** The payment as stored before this reduction. */
export interface PaymentSnapshot {
  /** Requested base units; null = open amount (any sum is welcome). */
  amount: bigint | null;
  tolerance: Tolerance;
  expiresAt: Date;
  /** The stored status; null while the payment is being created (the reduction emits `created`). */
  status: PaymentStatus | null;
  /** The stored flag, only to tell whether `paid_late` is news. */
  paidLate: boolean;
  cancelled: boolean;
  onHold: boolean;
}

export interface DepositSnapshot {
  /** Stable id (e.g. `network:txHash:index`), used to tell new and changed deposits apart. */
  id: string;
  amount: bigint;
  status: DepositStatus;
  belowMinimum: boolean;
  detectedAt: Date;
}

export interface ReduceInput {
  payment: PaymentSnapshot;
  /** Every deposit of the payment as it is now. */
  deposits: readonly DepositSnapshot[];
  /**
   * The deposits as they were at the last reduction (loaded before applying the change); omitted
   * or equal to `deposits` when no deposit changed, e.g. an expiry tick or a redelivered event.
   */
  previousDeposits?: readonly DepositSnapshot[];
  now: Date;
}

export interface PaymentOutcome {
  status: PaymentStatus;
  paidLate: boolean;
  amountReceived: bigint;
  amountConfirmed: bigint;
  /** null for open amounts; never negative. */
  amountDue: bigint | null;
  events: PaymentEvent[];
}

const STATUS_EVENT: Record<PaymentStatus, PaymentEventName | null> = {
  PENDING: null,
  PARTIALLY_PAID: 'partially_paid',
  CONFIRMING: 'confirming',
  PAID: 'paid',
  OVERPAID: 'overpaid',
  EXPIRED: 'expired',
  ON_HOLD: 'on_hold',
  CANCELLED: 'cancelled',
};

// Bad snapshots are programming errors (a number where a bigint belongs, a broken row), not user
// input: they throw plain errors so they surface as internal faults instead of a wrong status.
function assertSnapshot(payment: PaymentSnapshot, deposits: readonly DepositSnapshot[]): void {
  const { amount, tolerance } = payment;
  if (amount !== null && (typeof amount !== 'bigint' || amount <= 0n))
    throw new RangeError(`payment amount must be a positive bigint or null, got ${String(amount)}`);
  if (typeof tolerance.numerator !== 'bigint' || typeof tolerance.denominator !== 'bigint')
    throw new TypeError('tolerance must be bigint numerator/denominator');
  if (tolerance.denominator <= 0n || tolerance.numerator < 0n || tolerance.numerator > tolerance.denominator) {
    throw new RangeError(`tolerance must be within 0..1, got ${tolerance.numerator}/${tolerance.denominator}`);
  }
  if (Number.isNaN(payment.expiresAt.getTime())) throw new RangeError('expiresAt must be a valid date');
  for (const d of deposits) {
    if (typeof d.amount !== 'bigint' || d.amount < 0n) throw new RangeError(`deposit ${d.id} amount must be a non-negative bigint`);
    if (!DEPOSIT_STATUSES.includes(d.status)) throw new RangeError(`deposit ${d.id} has unknown status ${String(d.status)}`);
  }
}

/** SEEN or CONFIRMED and at least the coin's minimum: the deposits that move amounts and status. */
export function isCounted(d: DepositSnapshot): boolean {
  return !d.belowMinimum && (d.status === 'SEEN' || d.status === 'CONFIRMED');
}

/** floor so the allowance never exceeds what the merchant configured. */
export function paidThreshold(amount: bigint, tolerance: Tolerance): bigint {
  return amount - (amount * tolerance.numerator) / tolerance.denominator;
}

function computeStatus(payment: PaymentSnapshot, received: bigint, confirmed: bigint, now: Date): PaymentStatus {
  if (payment.cancelled) return 'CANCELLED';
  if (payment.onHold) return 'ON_HOLD';
  const expired = now.getTime() >= payment.expiresAt.getTime();
  if (payment.amount === null) {
    if (confirmed > 0n) return 'PAID';
    if (received > 0n) return 'CONFIRMING';
    return expired ? 'EXPIRED' : 'PENDING';
  }
  const threshold = paidThreshold(payment.amount, payment.tolerance);
  if (confirmed > payment.amount) return 'OVERPAID';
  if (confirmed >= threshold) return 'PAID';
  if (received >= threshold) return 'CONFIRMING';
  if (expired) return 'EXPIRED';
  if (received > 0n) return 'PARTIALLY_PAID';
  return 'PENDING';
}

function computePaidLate(payment: PaymentSnapshot, counted: readonly DepositSnapshot[]): boolean {
  const expiry = payment.expiresAt.getTime();
  let onTime = 0n;
  let anyLate = false;
  for (const d of counted) {
    if (d.detectedAt.getTime() >= expiry) anyLate = true;
    else onTime += d.amount;
  }
  if (!anyLate) return false;
  if (payment.amount === null) return onTime === 0n;
  return onTime < paidThreshold(payment.amount, payment.tolerance);
}

function depositEvents(previous: readonly DepositSnapshot[], current: readonly DepositSnapshot[]): PaymentEvent[] {
  const before = new Map(previous.map((d) => [d.id, d.status]));
  const events: PaymentEvent[] = [];
  for (const d of current) {
    const was = before.get(d.id);
    if (d.status === 'REORGED') {
      if (was !== undefined && was !== 'REORGED') events.push({ name: 'deposit_reorged', depositId: d.id });
    } else if (was === undefined || was === 'REORGED') {
      events.push({ name: 'deposit_seen', depositId: d.id });
    }
  }
  return events;
}

/**
 * Derives the payment's state from its stored facts. Pure and deterministic: the caller supplies
 * `now`, and nothing is mutated.
 */
export function reducePayment(input: ReduceInput): PaymentOutcome {
  const { payment, deposits, now } = input;
  assertSnapshot(payment, deposits);
  let received = 0n;
  let confirmed = 0n;
  const counted = deposits.filter(isCounted);
  for (const d of counted) {
    received += d.amount;
    if (d.status === 'CONFIRMED') confirmed += d.amount;
  }
  const status = computeStatus(payment, received, confirmed, now);
  const paidLate = computePaidLate(payment, counted);
  const amountDue = payment.amount === null ? null : received >= payment.amount ? 0n : payment.amount - received;

  const events: PaymentEvent[] = [];
  if (payment.status === null) events.push({ name: 'created' });
  events.push(...depositEvents(input.previousDeposits ?? deposits, deposits));
  if (paidLate && !payment.paidLate) events.push({ name: 'paid_late' });
  const previousStatus = payment.status ?? 'PENDING';
  const statusEvent = STATUS_EVENT[status];
  if (status !== previousStatus && statusEvent) events.push({ name: statusEvent });

  return { status, paidLate, amountReceived: received, amountConfirmed: confirmed, amountDue, events };
}

/**
 * Whether cancelPayment may go ahead: only while nothing was received, i.e. no SEEN, CONFIRMED or
 * HELD deposit at or above the minimum (a held deposit is money that arrived, even if frozen).
 * REORGED and below-minimum deposits do not block it. A payment on hold is compliance's to
 * release first. An already cancelled payment answers true, so a retried cancel is a no-op and
 * not a conflict.
 */
export function canCancel(payment: Pick<PaymentSnapshot, 'cancelled' | 'onHold'>, deposits: readonly DepositSnapshot[]): boolean {
  if (payment.cancelled) return true;
  if (payment.onHold) return false;
  return !deposits.some((d) => !d.belowMinimum && (d.status === 'SEEN' || d.status === 'CONFIRMED' || d.status === 'HELD'));
}
