import { randomUUID } from 'node:crypto';
import { type EntityManager, deterministicId, writeOutbox } from '@cpg/core/db';
import { formatAmount } from '@cpg/core/money';
import { SCHEMA } from '../../migrations';
import type { BatchStatus } from '../domain/status';

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

/** `withdrawal.updated` for subscriptions and webhooks, in the caller's transaction. */
export async function emitUpdated(tx: EntityManager, row: Pick<WithdrawalRow, 'id' | 'merchant_id'>, event: string, status: string): Promise<void> {
  await writeOutbox(tx, SCHEMA, 'withdrawal.updated', { withdrawalId: row.id, merchantId: row.merchant_id, event, status }, { key: row.id });
}

/**
 * The ledger effect of a withdrawal's end, in the caller's transaction. The message id is derived
 * from the withdrawal and the action, so writing it twice publishes it once; the ledger's own key
 * per withdrawal makes release and settle exclusive.
 */
export async function emitLedger(
  tx: EntityManager,
  row: Pick<WithdrawalRow, 'id' | 'merchant_id' | 'coin_id' | 'amount'>,
  action: 'release' | 'settle',
  fee: { fee: bigint; feeCoinId: string } | null = null,
): Promise<void> {
  await writeOutbox(
    tx,
    SCHEMA,
    'withdrawal.ledger',
    {
      withdrawalId: row.id,
      merchantId: row.merchant_id,
      coinId: row.coin_id,
      action,
      amount: BigInt(row.amount).toString(),
      fee: fee ? fee.fee.toString() : null,
      feeCoinId: fee ? fee.feeCoinId : null,
    },
    { key: row.id, id: deterministicId(`withdrawal:${row.id}:ledger:${action}`) },
  );
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

export function fmt(units: string | bigint | null, decimals: number): string | null {
  return units === null ? null : formatAmount(BigInt(units), decimals);
}
