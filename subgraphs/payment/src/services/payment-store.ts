import type { EntityManager } from '@cpg/core/db';
import { SCHEMA } from '../../migrations';
import type { LedgerState } from '../domain/deposit-ledger';
import type { DepositStatus, PaymentOutcome, PaymentStatus } from '../domain/status-machine';

/**
 * The SQL of payments: their rows and the deposits read with them. Every function runs on the
 * EntityManager it is given (inside the caller's transaction when there is one); the services
 * decide, these only read and write. Deposits as chain events change them: ./deposit-store.
 */

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
  /** Changes announced so far (one per `payment.updated`); 0 for a payment from before versions. */
  version: number;
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
  /** What the merchant ledger was told about the current generation (domain/deposit-ledger). */
  ledger: LedgerState;
  below_minimum: boolean;
  detected_at: Date;
  confirmed_at: Date | null;
  updated_at: Date;
}

export async function depositsOf(tx: EntityManager, paymentId: string): Promise<DepositRow[]> {
  return tx.execute<DepositRow[]>(`select * from ${T}.deposits where payment_id = ? order by detected_at, id`, [paymentId]);
}

export async function lockPayment(tx: EntityManager, id: string): Promise<PaymentRow | null> {
  const rows = await tx.execute<PaymentRow[]>(`select * from ${T}.payments where id = ? for update`, [id]);
  return rows[0] ?? null;
}

export async function paymentById(em: EntityManager, id: string): Promise<PaymentRow | null> {
  const [row] = await em.execute<PaymentRow[]>(`select * from ${T}.payments where id = ?`, [id]);
  return row ?? null;
}

/** The payment only when it is the merchant's: a wrong id reveals nothing. */
export async function merchantPayment(em: EntityManager, id: string, merchantId: string): Promise<PaymentRow | null> {
  const [row] = await em.execute<PaymentRow[]>(`select * from ${T}.payments where id = ? and merchant_id = ?`, [id, merchantId]);
  return row ?? null;
}

export async function paymentByTokenHash(em: EntityManager, tokenHash: string): Promise<PaymentRow | null> {
  const [row] = await em.execute<PaymentRow[]>(`select * from ${T}.payments where checkout_token_hash = ?`, [tokenHash]);
  return row ?? null;
}

export async function paymentByOrderId(em: EntityManager, merchantId: string, orderId: string): Promise<PaymentRow | null> {
  const [row] = await em.execute<PaymentRow[]>(`select * from ${T}.payments where merchant_id = ? and order_id = ?`, [merchantId, orderId]);
  return row ?? null;
}

/** Every column of a new payment but the derived ones (numbers as decimal strings). */
export type NewPayment = Omit<PaymentRow, 'cancelled' | 'on_hold' | 'version'>;

/** Inserts the payment; a second one with the same (merchant, orderId) is a unique violation. */
export async function insertPayment(tx: EntityManager, p: NewPayment): Promise<PaymentRow> {
  const [inserted] = await tx.execute<PaymentRow[]>(
    `insert into ${T}.payments (id, merchant_id, order_id, fingerprint, description, coin_id, network_id, address_id, address, customer_id,
       amount, price_amount, price_currency, rate, tolerance, amount_received, amount_confirmed, amount_due, status, paid_late,
       token_salt, checkout_token_hash, metadata, expires_at, created_at, updated_at)
     values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?::numeric, ?, ?, ?, ?, ?::numeric, ?::numeric, ?::numeric, ?, ?, ?, ?, ?::jsonb, ?, ?, ?) returning *`,
    [
      p.id,
      p.merchant_id,
      p.order_id,
      p.fingerprint,
      p.description,
      p.coin_id,
      p.network_id,
      p.address_id,
      p.address,
      p.customer_id,
      p.amount,
      p.price_amount,
      p.price_currency,
      p.rate,
      p.tolerance,
      p.amount_received,
      p.amount_confirmed,
      p.amount_due,
      p.status,
      p.paid_late,
      p.token_salt,
      p.checkout_token_hash,
      p.metadata === null ? null : JSON.stringify(p.metadata),
      p.expires_at,
      p.created_at,
      p.updated_at,
    ],
  );
  return inserted!;
}

export interface PaymentQuery {
  merchantId: string | null;
  status?: string | null;
  coinId?: string | null;
  orderId?: string | null;
  createdFrom?: Date | null;
  createdTo?: Date | null;
  /** Keyset position: only payments strictly older than it (newest first). */
  before?: { createdAt: Date; id: string } | null;
  limit: number;
}

/** Newest first, by (created_at, id), at most `limit` rows. */
export async function listPayments(em: EntityManager, q: PaymentQuery): Promise<PaymentRow[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (sql: string, ...p: unknown[]) => {
    where.push(sql);
    params.push(...p);
  };
  if (q.merchantId) add('merchant_id = ?', q.merchantId);
  if (q.status) add('status = ?', q.status);
  if (q.coinId) add('coin_id = ?', q.coinId);
  if (q.orderId) add('order_id = ?', q.orderId);
  if (q.createdFrom) add('created_at >= ?', q.createdFrom);
  if (q.createdTo) add('created_at < ?', q.createdTo);
  if (q.before) add('(created_at, id) < (?, ?::uuid)', q.before.createdAt, q.before.id);
  return em.execute<PaymentRow[]>(
    `select * from ${T}.payments ${where.length ? `where ${where.join(' and ')}` : ''} order by created_at desc, id desc limit ?`,
    [...params, q.limit],
  );
}

export async function markCancelled(tx: EntityManager, id: string): Promise<void> {
  await tx.execute(`update ${T}.payments set cancelled = true where id = ?`, [id]);
}

/** Counts `count` more announced changes of a payment (locked by `tx`); returns the version before them. */
export async function takeVersions(tx: EntityManager, id: string, count: number): Promise<number> {
  const [row] = await tx.execute<{ version: number }[]>(`update ${T}.payments set version = version + ? where id = ? returning version`, [count, id]);
  return row!.version - count;
}

/** Writes what the status machine made of a payment. */
export async function storeOutcome(tx: EntityManager, id: string, outcome: PaymentOutcome, now: Date): Promise<void> {
  await tx.execute(
    `update ${T}.payments set status = ?, paid_late = ?, amount_received = ?::numeric, amount_confirmed = ?::numeric, amount_due = ?::numeric, updated_at = ? where id = ?`,
    [outcome.status, outcome.paidLate, outcome.amountReceived.toString(), outcome.amountConfirmed.toString(), outcome.amountDue?.toString() ?? null, now, id],
  );
}

/**
 * Open payments whose time ran out, locked; SKIP LOCKED lets replicas share the work and never
 * waits on a payment a deposit is being applied to.
 */
export async function lockExpired(tx: EntityManager, now: Date, limit: number): Promise<PaymentRow[]> {
  return tx.execute<PaymentRow[]>(
    `select * from ${T}.payments where status in ('PENDING','PARTIALLY_PAID') and expires_at <= ? order by expires_at limit ? for update skip locked`,
    [now, limit],
  );
}
