import { formatAmount, parseDecimalRatio } from '@cpg/core/money';
import type { EntityManager } from '@cpg/core/db';
import { writeOutbox } from '@cpg/core/db';
import { SCHEMA } from '../../migrations';
import { type DepositSnapshot, type PaymentOutcome, reducePayment } from '../domain/status-machine';
import { type DepositRow, type PaymentRow, storeOutcome, takeVersions } from './payment-store';

// The row types are the payment store's; re-exported for the resolvers' generated mappers.
export type { DepositRow, PaymentRow } from './payment-store';

export function toleranceOf(s: string) {
  return parseDecimalRatio(s, 18);
}

export function depositSnapshot(d: DepositRow): DepositSnapshot {
  return { id: d.id, amount: BigInt(d.amount), status: d.status, belowMinimum: d.below_minimum, detectedAt: new Date(d.detected_at) };
}

/**
 * Runs the status machine over the stored facts of a payment already locked by `tx`, writes the
 * outcome back and one `payment.updated` per event, all in the caller's transaction.
 */
export async function reduceAndStore(
  tx: EntityManager,
  row: PaymentRow,
  deposits: readonly DepositRow[],
  previous: readonly DepositRow[] | undefined,
  now: Date,
): Promise<PaymentOutcome> {
  const outcome = reducePayment({
    payment: {
      amount: row.amount === null ? null : BigInt(row.amount),
      tolerance: toleranceOf(row.tolerance),
      expiresAt: new Date(row.expires_at),
      status: row.status,
      paidLate: row.paid_late,
      cancelled: row.cancelled,
      onHold: row.on_hold,
    },
    deposits: deposits.map(depositSnapshot),
    previousDeposits: previous?.map(depositSnapshot),
    now,
  });
  const changed =
    outcome.status !== row.status ||
    outcome.paidLate !== row.paid_late ||
    outcome.amountReceived.toString() !== row.amount_received ||
    outcome.amountConfirmed.toString() !== row.amount_confirmed ||
    (outcome.amountDue?.toString() ?? null) !== row.amount_due ||
    outcome.events.length > 0;
  if (changed) await storeOutcome(tx, row.id, outcome, now);
  await emitEvents(tx, row, outcome);
  return outcome;
}

/** One `payment.updated` per event, each with the payment's next version, in the caller's transaction (payment locked). */
export async function emitEvents(tx: EntityManager, row: PaymentRow, outcome: PaymentOutcome): Promise<void> {
  if (!outcome.events.length) return;
  // One write for the versions of all of this outcome's events, numbered in their order.
  let version = await takeVersions(tx, row.id, outcome.events.length);
  for (const e of outcome.events) {
    version++;
    await writeOutbox(
      tx,
      SCHEMA,
      'payment.updated',
      { paymentId: row.id, merchantId: row.merchant_id, checkoutTokenHash: row.checkout_token_hash, event: e.name, status: outcome.status, version },
      { key: row.id },
    );
  }
}

export function fmt(units: string | bigint | null, decimals: number): string | null {
  return units === null ? null : formatAmount(BigInt(units), decimals);
}
