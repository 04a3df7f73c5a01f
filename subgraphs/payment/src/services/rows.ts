import { formatAmount, parseDecimalRatio } from '@cpg/core/money';
import type { EntityManager } from '@cpg/core/db';
import { writeOutbox } from '@cpg/core/db';
import { SCHEMA } from '../../migrations';
import { type DepositSnapshot, type PaymentStatus, type DepositStatus, type PaymentOutcome, reducePayment } from '../domain/status-machine';

export const T = `"${SCHEMA}"`;

export interface PaymentRow {
  id: string;
  merchant_id: string;
  order_id: string | null;
  fingerprint: string;
  description: string | null;
  coin_id: string;
  network_id: string;
  address_id: string;
  address: string;
  customer_id: string | null;
  amount: string | null;
  price_amount: string | null;
  price_currency: string | null;
  rate: string | null;
  tolerance: string;
  amount_received: string;
  amount_confirmed: string;
  amount_due: string | null;
  status: PaymentStatus;
  paid_late: boolean;
  cancelled: boolean;
  on_hold: boolean;
  token_salt: string;
  checkout_token_hash: string;
  metadata: unknown;
  expires_at: Date;
  created_at: Date;
  updated_at: Date;
}

export interface DepositRow {
  id: string;
  payment_id: string | null;
  merchant_id: string;
  address_id: string;
  network_id: string;
  tx_hash: string;
  idx: number;
  from_address: string | null;
  coin_id: string;
  amount: string;
  confirmations: number;
  block_number: string | null;
  block_hash: string | null;
  status: DepositStatus;
  generation: number;
  below_minimum: boolean;
  detected_at: Date;
  confirmed_at: Date | null;
  updated_at: Date;
}

export function toleranceOf(s: string) {
  return parseDecimalRatio(s, 18);
}

export function depositSnapshot(d: DepositRow): DepositSnapshot {
  return { id: d.id, amount: BigInt(d.amount), status: d.status, belowMinimum: d.below_minimum, detectedAt: new Date(d.detected_at) };
}

export async function depositsOf(tx: EntityManager, paymentId: string): Promise<DepositRow[]> {
  return tx.execute<DepositRow[]>(`select * from ${T}.deposits where payment_id = ? order by detected_at, id`, [paymentId]);
}

export async function lockPayment(tx: EntityManager, id: string): Promise<PaymentRow | null> {
  const rows = await tx.execute<PaymentRow[]>(`select * from ${T}.payments where id = ? for update`, [id]);
  return rows[0] ?? null;
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
  if (changed) {
    await tx.execute(
      `update ${T}.payments set status = ?, paid_late = ?, amount_received = ?::numeric, amount_confirmed = ?::numeric, amount_due = ?::numeric, updated_at = ? where id = ?`,
      [
        outcome.status,
        outcome.paidLate,
        outcome.amountReceived.toString(),
        outcome.amountConfirmed.toString(),
        outcome.amountDue?.toString() ?? null,
        now,
        row.id,
      ],
    );
  }
  await emitEvents(tx, row, outcome);
  return outcome;
}

export async function emitEvents(tx: EntityManager, row: PaymentRow, outcome: PaymentOutcome): Promise<void> {
  for (const e of outcome.events) {
    await writeOutbox(
      tx,
      SCHEMA,
      'payment.updated',
      { paymentId: row.id, merchantId: row.merchant_id, checkoutTokenHash: row.checkout_token_hash, event: e.name, status: outcome.status },
      { key: row.id },
    );
  }
}

export function fmt(units: string | bigint | null, decimals: number): string | null {
  return units === null ? null : formatAmount(BigInt(units), decimals);
}
