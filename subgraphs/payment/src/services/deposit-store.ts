import { randomUUID } from 'node:crypto';
import type { DepositDecision, EventData } from '@cpg/core/bus';
import type { EntityManager } from '@cpg/core/db';
import type { LedgerState } from '../domain/deposit-ledger';
import type { DepositState } from '../domain/deposits';
import type { PaymentStatus } from '../domain/status-machine';
import { type DepositRow, T } from './payment-store';

/**
 * The SQL of deposits as chain events and compliance decisions change them: the rows, the
 * payments a transfer may belong to, the compliance records and what the ledger was told. Every
 * function runs in the caller's transaction; the callers take the locks in one order (payment
 * row, then deposit row), as cancelPayment and the sweeper do.
 */

/** A transfer's identity in this schema: the hash as the catalogue normalises it. */
export interface TransferId {
  network: string;
  txHash: string;
  index: number;
}

export interface CandidateRow {
  id: string;
  status: PaymentStatus;
  coin_id: string;
  customer_id: string | null;
  created_at: Date;
}

/** `lock`: for update, once the payment (if any) is locked. */
export async function findDeposit(tx: EntityManager, id: TransferId, lock = false): Promise<DepositRow | null> {
  const [row] = await tx.execute<DepositRow[]>(`select * from ${T}.deposits where network_id = ? and tx_hash = ? and idx = ?${lock ? ' for update' : ''}`, [
    id.network,
    id.txHash,
    id.index,
  ]);
  return row ?? null;
}

/** The newest payments at the address for the merchant: the ones a new transfer may belong to. */
export async function paymentCandidates(tx: EntityManager, addressId: string, merchantId: string): Promise<CandidateRow[]> {
  return tx.execute<CandidateRow[]>(
    `select id, status, coin_id, customer_id, created_at from ${T}.payments where address_id = ? and merchant_id = ? order by created_at desc limit 20`,
    [addressId, merchantId],
  );
}

type Transfer = EventData<'chain.transfer.seen'>;

export async function insertDeposit(
  tx: EntityManager,
  t: Transfer,
  txHash: string,
  paymentId: string | null,
  next: DepositState,
  belowMinimum: boolean,
  now: Date,
): Promise<DepositRow> {
  const [row] = await tx.execute<DepositRow[]>(
    `insert into ${T}.deposits (id, payment_id, merchant_id, address_id, network_id, tx_hash, idx, from_address, coin_id, amount, confirmations, block_number, block_hash,
       status, generation, below_minimum, detected_at, confirmed_at, updated_at)
     values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?::numeric, ?, ?, ?, ?, ?, ?, ?, ?, ?) returning *`,
    [
      randomUUID(),
      paymentId,
      t.merchantId,
      t.addressId,
      t.network,
      txHash,
      t.index,
      t.from,
      t.coinId,
      t.amount,
      t.confirmations,
      t.blockHeight,
      t.blockHash,
      next.status,
      next.generation,
      belowMinimum,
      now,
      next.status === 'CONFIRMED' ? now : null,
      now,
    ],
  );
  return row!;
}

/** Depth and block move even when the status does not (a deeper confirmation, a re-mined block). */
export async function updateDeposit(tx: EntityManager, id: string, next: DepositState, t: Transfer, now: Date): Promise<DepositRow> {
  const [row] = await tx.execute<DepositRow[]>(
    `update ${T}.deposits set status = ?, generation = ?, confirmations = greatest(?, case when ? = 'REORGED' then 0 else confirmations end),
       block_number = coalesce(?, block_number), block_hash = coalesce(?, block_hash),
       confirmed_at = case when ? = 'CONFIRMED' then coalesce(confirmed_at, ?) when ? = 'REORGED' then null else confirmed_at end, updated_at = ?
     where id = ? returning *`,
    [next.status, next.generation, t.confirmations, next.status, t.blockHeight, t.blockHash, next.status, now, next.status, now, id],
  );
  return row!;
}

export async function setLedgerState(tx: EntityManager, depositId: string, state: LedgerState): Promise<void> {
  await tx.execute(`update ${T}.deposits set ledger = ? where id = ?`, [state, depositId]);
}

/** Every compliance decision received for the transfer (any generation). */
export async function decisionsOf(tx: EntityManager, id: TransferId): Promise<Set<DepositDecision>> {
  const rows = await tx.execute<{ action: DepositDecision }[]>(`select action from ${T}.deposit_decisions where network_id = ? and tx_hash = ? and idx = ?`, [
    id.network,
    id.txHash,
    id.index,
  ]);
  return new Set(rows.map((r) => r.action));
}

export async function recordDecision(tx: EntityManager, id: TransferId, action: DepositDecision, now: Date): Promise<void> {
  await tx.execute(`insert into ${T}.deposit_decisions (network_id, tx_hash, idx, action, at) values (?, ?, ?, ?, ?) on conflict do nothing`, [
    id.network,
    id.txHash,
    id.index,
    action,
    now,
  ]);
}

/** One row per (alert, action): what decides whether the payment is on hold. */
export async function recordComplianceHold(
  tx: EntityManager,
  alertId: string,
  action: 'HOLD' | 'RELEASE' | 'BLOCK',
  paymentId: string | null,
  id: TransferId,
  now: Date,
): Promise<void> {
  await tx.execute(
    `insert into ${T}.compliance_holds (alert_id, action, payment_id, network_id, tx_hash, idx, at) values (?, ?, ?, ?, ?, ?, ?) on conflict do nothing`,
    [alertId, action, paymentId, id.network, id.txHash, id.index, now],
  );
}

/** Whether one of the payment's deposits has a HOLD or BLOCK that no RELEASE of the same alert ended. */
export async function paymentHeld(tx: EntityManager, paymentId: string): Promise<boolean> {
  const [{ held }] = (await tx.execute<{ held: boolean }[]>(
    `select exists (select 1 from ${T}.compliance_holds h where h.payment_id = ? and h.action in ('HOLD','BLOCK')
       and not exists (select 1 from ${T}.compliance_holds r where r.alert_id = h.alert_id and r.action = 'RELEASE')) as held`,
    [paymentId],
  )) as [{ held: boolean }];
  return held;
}

export async function setOnHold(tx: EntityManager, paymentId: string, held: boolean, now: Date): Promise<void> {
  await tx.execute(`update ${T}.payments set on_hold = ?, updated_at = ? where id = ?`, [held, now, paymentId]);
}
