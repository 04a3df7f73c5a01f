import { randomUUID } from 'node:crypto';
import { type EntityManager, deterministicId, writeOutbox } from '@cpg/core/db';
import { SCHEMA } from '../../migrations';
import { type AggregationSettings, DEFAULT_AGGREGATION } from '../domain/batching';
import type { Position } from '../domain/cursor';
import type { Limit } from '../domain/limits';
import type { BatchStatus, WithdrawalStatus } from '../domain/status';
import { emitUpdated } from './withdrawal-events';

// The withdrawal subgraph's SQL and row types: withdrawals, their limits, batches and the
// merchant's aggregation settings. Functions taking `tx` run in the caller's transaction; none of
// them commits on its own.

export const T = `"${SCHEMA}"`;

export interface WithdrawalRow {
  id: string;
  merchant_id: string;
  coin_id: string;
  network_id: string;
  to_address: string;
  amount: string;
  idempotency_key: string;
  fingerprint: string;
  status: string;
  held: boolean;
  batch_id: string | null;
  tx_hash: string | null;
  fee: string | null;
  fee_coin_id: string | null;
  failure_reason: string | null;
  waiting_reason: string | null;
  assessment_id: string | null;
  payment_id: string | null;
  queued_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export interface BatchRow {
  id: string;
  merchant_id: string;
  network_id: string;
  coin_id: string;
  status: BatchStatus;
  tx_hash: string | null;
  fee: string | null;
  fee_coin_id: string | null;
  waiting_reason: string | null;
  failure_reason: string | null;
  created_at: Date;
  updated_at: Date;
}

export async function lockWithdrawal(tx: EntityManager, id: string): Promise<WithdrawalRow | null> {
  const rows = await tx.execute<WithdrawalRow[]>(`select * from ${T}.withdrawals where id = ? for update`, [id]);
  return rows[0] ?? null;
}

/**
 * Makes one batch of QUEUED withdrawals already locked by `tx` (same merchant, network, coin):
 * the batch row, the withdrawals moved to BATCHED and `withdrawal.batch.ready` in the outbox, all
 * in the caller's transaction, so the signer hears of exactly the withdrawals that were moved.
 */
export async function createBatch(tx: EntityManager, rows: WithdrawalRow[], now = new Date()): Promise<BatchRow> {
  const first = rows[0];
  if (!first) throw new Error('a batch needs withdrawals');
  for (const r of rows) {
    if (r.status !== 'QUEUED' || r.merchant_id !== first.merchant_id || r.coin_id !== first.coin_id)
      throw new Error('a batch is queued withdrawals of one merchant and coin');
  }
  const id = randomUUID();
  const [batch] = await tx.execute<BatchRow[]>(
    `insert into ${T}.batches (id, merchant_id, network_id, coin_id, status, created_at, updated_at) values (?, ?, ?, ?, 'BATCHED', ?, ?) returning *`,
    [id, first.merchant_id, first.network_id, first.coin_id, now, now],
  );
  const ids = rows.map((r) => r.id);
  await tx.execute(`update ${T}.withdrawals set status = 'BATCHED', batch_id = ?, updated_at = ? where id in (${ids.map(() => '?').join(', ')})`, [
    id,
    now,
    ...ids,
  ]);
  await writeOutbox(
    tx,
    SCHEMA,
    'withdrawal.batch.ready',
    {
      batchId: id,
      merchantId: first.merchant_id,
      network: first.network_id,
      coinId: first.coin_id,
      items: rows.map((r) => ({ withdrawalId: r.id, toAddress: r.to_address, amount: BigInt(r.amount).toString() })),
    },
    { key: id, id: deterministicId(`withdrawal-batch:${id}:ready`) },
  );
  for (const r of rows) await emitUpdated(tx, r, 'batched', 'BATCHED');
  return batch!;
}

export interface LimitRow {
  merchant_id: string;
  coin_id: string;
  min_amount: string;
  max_amount: string;
  daily_amount: string;
  approval_above: string | null;
}

export function limitOf(row: LimitRow | undefined): Limit | null {
  if (!row) return null;
  return {
    min: BigInt(row.min_amount),
    max: BigInt(row.max_amount),
    daily: BigInt(row.daily_amount),
    approvalAbove: row.approval_above === null ? null : BigInt(row.approval_above),
  };
}

export async function aggregationOf(em: EntityManager, merchantId: string): Promise<AggregationSettings> {
  const [s] = await em.execute<{ withdrawal_aggregation: 'NONE' | 'BATCH'; batch_max_size: number; batch_max_wait_seconds: number }[]>(
    `select withdrawal_aggregation, batch_max_size, batch_max_wait_seconds from ${T}.merchant_settings where merchant_id = ?`,
    [merchantId],
  );
  return s ? { mode: s.withdrawal_aggregation, maxSize: s.batch_max_size, maxWaitSeconds: s.batch_max_wait_seconds } : DEFAULT_AGGREGATION;
}

/** Any status, PROVISIONAL included. */
export async function withdrawalById(em: EntityManager, id: string): Promise<WithdrawalRow | null> {
  const [row] = await em.execute<WithdrawalRow[]>(`select * from ${T}.withdrawals where id = ?`, [id]);
  return row ?? null;
}

export async function withdrawalByKey(em: EntityManager, merchantId: string, key: string): Promise<WithdrawalRow | null> {
  const rows = await em.execute<WithdrawalRow[]>(`select * from ${T}.withdrawals where merchant_id = ? and idempotency_key = ?`, [merchantId, key]);
  return rows[0] ?? null;
}

/**
 * The merchant's limit for a coin, locked: the limit row serialises requests of one merchant and
 * coin, so the daily sum counts every request in flight (PROVISIONAL rows included).
 */
export async function lockLimit(tx: EntityManager, merchantId: string, coinId: string): Promise<LimitRow | undefined> {
  const [row] = await tx.execute<LimitRow[]>(`select * from ${T}.withdrawal_limits where merchant_id = ? and coin_id = ? for update`, [merchantId, coinId]);
  return row;
}

/** What the merchant asked to withdraw of a coin since `since`, failed and refused requests aside. */
export async function requestedSince(tx: EntityManager, merchantId: string, coinId: string, since: Date): Promise<bigint> {
  const [used] = await tx.execute<{ total: string }[]>(
    `select coalesce(sum(amount), 0)::text as total from ${T}.withdrawals
      where merchant_id = ? and coin_id = ? and created_at > ? and status not in ('FAILED', 'CANCELLED', 'REJECTED')`,
    [merchantId, coinId, since],
  );
  return BigInt(used?.total ?? '0');
}

export interface NewWithdrawal {
  id: string;
  merchantId: string;
  coinId: string;
  networkId: string;
  toAddress: string;
  amount: bigint;
  idempotencyKey: string;
  fingerprint: string;
  paymentId: string | null;
  now: Date;
}

/** A PROVISIONAL row; a second one with the same key fails on the unique constraint. */
export async function insertProvisional(tx: EntityManager, w: NewWithdrawal): Promise<void> {
  await tx.execute(
    `insert into ${T}.withdrawals (id, merchant_id, coin_id, network_id, to_address, amount, idempotency_key, fingerprint, status, payment_id, created_at, updated_at)
     values (?, ?, ?, ?, ?, ?::numeric, ?, ?, 'PROVISIONAL', ?, ?, ?)`,
    [w.id, w.merchantId, w.coinId, w.networkId, w.toAddress, w.amount.toString(), w.idempotencyKey, w.fingerprint, w.paymentId, w.now, w.now],
  );
}

export async function markRejected(tx: EntityManager, id: string, reason: string, assessmentId: string | null): Promise<WithdrawalRow> {
  const [out] = await tx.execute<WithdrawalRow[]>(
    `update ${T}.withdrawals set status = 'REJECTED', failure_reason = ?, assessment_id = ?, updated_at = ? where id = ? returning *`,
    [reason, assessmentId, new Date(), id],
  );
  return out!;
}

/** The hold is in place: the withdrawal waits for approval or is QUEUED (then stamped as such). */
export async function markHeld(tx: EntityManager, id: string, status: WithdrawalStatus, assessmentId: string | null, now: Date): Promise<WithdrawalRow> {
  const [out] = await tx.execute<WithdrawalRow[]>(
    `update ${T}.withdrawals set status = ?, held = true, assessment_id = ?, queued_at = ?, updated_at = ? where id = ? returning *`,
    [status, assessmentId, status === 'QUEUED' ? now : null, now, id],
  );
  return out!;
}

/** Removes the row if it is still PROVISIONAL; returns what was removed. */
export async function deleteProvisional(tx: EntityManager, id: string): Promise<WithdrawalRow | undefined> {
  const [row] = await tx.execute<WithdrawalRow[]>(`delete from ${T}.withdrawals where id = ? and status = 'PROVISIONAL' returning *`, [id]);
  return row;
}

/** A decided status change; QUEUED stamps queued_at, a reason given replaces the stored one. */
export async function setStatus(tx: EntityManager, id: string, status: WithdrawalStatus, failureReason: string | null, now: Date): Promise<WithdrawalRow> {
  const [out] = await tx.execute<WithdrawalRow[]>(
    `update ${T}.withdrawals set status = ?, failure_reason = coalesce(?, failure_reason), queued_at = case when ? = 'QUEUED' then ? else queued_at end, updated_at = ?
      where id = ? returning *`,
    [status, failureReason, status, now, now, id],
  );
  return out!;
}

/** A withdrawal as callers may see it: PROVISIONAL rows are not requests yet. */
export async function requestedWithdrawal(em: EntityManager, id: string): Promise<WithdrawalRow | undefined> {
  const [row] = await em.execute<WithdrawalRow[]>(`select * from ${T}.withdrawals where id = ? and status <> 'PROVISIONAL'`, [id]);
  return row;
}

export interface WithdrawalFilter {
  merchantId: string | null;
  status?: string | null;
  coinId?: string | null;
  /** Rows strictly after this position in (created_at, id) descending order. */
  after?: Position;
}

/** Newest first, PROVISIONAL rows left out, at most `limit` rows. */
export async function listWithdrawals(em: EntityManager, filter: WithdrawalFilter, limit: number): Promise<WithdrawalRow[]> {
  const where: string[] = [`status <> 'PROVISIONAL'`];
  const params: unknown[] = [];
  if (filter.merchantId) {
    where.push('merchant_id = ?');
    params.push(filter.merchantId);
  }
  if (filter.status) {
    where.push('status = ?');
    params.push(filter.status);
  }
  if (filter.coinId) {
    where.push('coin_id = ?');
    params.push(filter.coinId);
  }
  if (filter.after) {
    where.push('(created_at, id) < (?, ?::uuid)');
    params.push(filter.after.createdAt, filter.after.id);
  }
  return em.execute<WithdrawalRow[]>(`select * from ${T}.withdrawals where ${where.join(' and ')} order by created_at desc, id desc limit ?`, [
    ...params,
    limit,
  ]);
}

export async function batchById(em: EntityManager, id: string): Promise<BatchRow | null> {
  const [row] = await em.execute<BatchRow[]>(`select * from ${T}.batches where id = ?`, [id]);
  return row ?? null;
}

export async function withdrawalsOfBatch(em: EntityManager, batchId: string): Promise<WithdrawalRow[]> {
  return em.execute<WithdrawalRow[]>(`select * from ${T}.withdrawals where batch_id = ? order by created_at, id`, [batchId]);
}

export async function limitsOf(em: EntityManager, merchantId: string): Promise<LimitRow[]> {
  return em.execute<LimitRow[]>(`select * from ${T}.withdrawal_limits where merchant_id = ? order by coin_id`, [merchantId]);
}

export async function upsertLimit(em: EntityManager, merchantId: string, coinId: string, l: Limit): Promise<LimitRow> {
  const [row] = await em.execute<LimitRow[]>(
    `insert into ${T}.withdrawal_limits (merchant_id, coin_id, min_amount, max_amount, daily_amount, approval_above, updated_at)
     values (?, ?, ?::numeric, ?::numeric, ?::numeric, ?::numeric, now())
     on conflict (merchant_id, coin_id) do update set min_amount = excluded.min_amount, max_amount = excluded.max_amount,
       daily_amount = excluded.daily_amount, approval_above = excluded.approval_above, updated_at = excluded.updated_at
     returning *`,
    [merchantId, coinId, l.min.toString(), l.max.toString(), l.daily.toString(), l.approvalAbove?.toString() ?? null],
  );
  return row!;
}
