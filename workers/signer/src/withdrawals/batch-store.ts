import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { writeOutbox } from '@cpg/core/db';
import type { SignedPayout, StoredTx } from './chains';

/**
 * The signer's withdrawal tables (signer.withdrawal_batches, signer.withdrawal_txs) and the
 * withdrawal.batch.updated events written with them through the outbox, as the processor moves
 * batches along (intake-store.ts receives them). Raw SQL with row types.
 * Methods taking `tx` run inside the caller's transaction (the processor's, which holds the batch
 * and HOT wallet row locks while it talks to the chain); the others are one transaction each,
 * and each state change is conditional on the state it leaves, so a repeat changes nothing.
 */

export type BatchStatus = 'NEW' | 'WAITING_FUNDS' | 'SIGNED' | 'BROADCAST' | 'CONFIRMED' | 'FAILED';

export interface BatchRow {
  batch_id: string;
  merchant_id: string;
  network_id: string;
  coin_id: string;
  items: { withdrawalId: string; toAddress: string; amount: string }[];
  status: BatchStatus;
  reason: string | null;
  tx_hash: string | null;
  confirmations: number;
}

export interface TxRow {
  id: string;
  batch_id: string;
  kind: 'PAYOUT' | 'APPROVAL';
  seq: number;
  from_address: string;
  nonce: string | null;
  tx_hash: string;
  raw: string;
  fee: string;
  fee_detail: Record<string, string>;
  status: string;
  broadcast_at: Date | null;
}

export type BatchEventStatus = 'WAITING_FUNDS' | 'SIGNING' | 'BROADCAST' | 'CONFIRMED' | 'FAILED';

export interface BatchEventExtra {
  txHash?: string | null;
  fee?: bigint | null;
  reason?: string | null;
  confirmations?: number;
}

/** How a mined payout ends its batch (see recordFinal). */
export interface FinalOutcome {
  status: 'CONFIRMED' | 'FAILED';
  reason: string | null;
  /** What the payout itself paid. */
  paid: bigint;
  blockHeight: number;
  confirmations: number;
}

export function storedOf(t: TxRow): StoredTx {
  return { txHash: t.tx_hash, raw: t.raw, fee: BigInt(t.fee), feeDetail: t.fee_detail, nonce: t.nonce === null ? null : Number(t.nonce) };
}

export class BatchStore {
  private readonly s: string;

  constructor(
    private readonly em: EntityManager,
    private readonly schema: string,
    /** The native coin of a network, in which events state fees; null for a network no longer enabled. */
    private readonly nativeCoinOf: (networkId: string) => string | null,
  ) {
    this.s = `"${schema}"`;
  }

  private conn() {
    return this.em.fork().getConnection();
  }

  /** Runs `work` in one database transaction on a fresh fork. */
  transaction<T>(work: (tx: EntityManager) => Promise<T>): Promise<T> {
    return this.em.fork().transactional(work);
  }

  /**
   * Runs `work` (one processor step of the batch) while this process holds the batch's step claim,
   * a transaction-scoped advisory lock on a connection of its own; false, without running it, when
   * another replica holds it. Why a claim on the whole step and not only row locks: a step talks to
   * the chain between its transactions (broadcast, status, fee bump), and two replicas stepping
   * the same batch would both sign a fee bump, or one would read the node's answer to the other's
   * broadcast as its own. The lock is held by a plain knex transaction (not MikroORM's
   * `transactional`, whose async context would pull the step's own transactions into it and
   * delay their commits past the broadcast); a replica that dies loses the lock with its session.
   */
  async withStepClaim(batchId: string, work: () => Promise<void>): Promise<boolean> {
    const claim = await this.em.getConnection().getKnex().transaction();
    try {
      const res = await claim.raw<{ rows: { ok: boolean }[] }>(`select pg_try_advisory_xact_lock(hashtext('signer:withdrawal-batch'), hashtext(?)) as ok`, [
        batchId,
      ]);
      if (!res.rows[0]?.ok) return false;
      await work();
      return true;
    } finally {
      // Nothing was written on this connection: ending it only lets the lock go.
      await claim.rollback().catch(() => undefined);
    }
  }

  /** Unfinished batches whose next look is due, oldest first (at most 100 a pass). */
  async dueBatchIds(): Promise<string[]> {
    const rows = await this.conn().execute<{ batch_id: string }[]>(
      `select batch_id from ${this.s}.withdrawal_batches where status not in ('CONFIRMED','FAILED') and next_check_at <= now() order by created_at limit 100`,
    );
    return rows.map((r) => r.batch_id);
  }

  async load(batchId: string): Promise<BatchRow | null> {
    const [row] = await this.conn().execute<BatchRow[]>(`select * from ${this.s}.withdrawal_batches where batch_id = ?`, [batchId]);
    return row ?? null;
  }

  /** The batch is looked at again in `ms` (or when kicked and due). */
  async deferBy(batchId: string, ms: number, tx?: EntityManager): Promise<void> {
    const sql = `update ${this.s}.withdrawal_batches set next_check_at = now() + (? * interval '1 millisecond') where batch_id = ?`;
    await (tx ? tx.execute(sql, [ms, batchId]) : this.conn().execute(sql, [ms, batchId]));
  }

  /** A withdrawal.batch.updated event in `tx` (key = batchId, so a batch's events stay in order). */
  async event(tx: EntityManager, b: BatchRow, status: BatchEventStatus, extra: BatchEventExtra = {}): Promise<void> {
    const fee = extra.fee === undefined || extra.fee === null ? null : extra.fee;
    await writeOutbox(
      tx,
      this.schema,
      'withdrawal.batch.updated',
      {
        batchId: b.batch_id,
        merchantId: b.merchant_id,
        network: b.network_id,
        coinId: b.coin_id,
        status,
        txHash: extra.txHash ?? null,
        fee: fee === null ? null : fee.toString(),
        feeCoinId: fee === null ? null : this.nativeCoinOf(b.network_id),
        reason: extra.reason ?? null,
        confirmations: extra.confirmations ?? 0,
      },
      { key: b.batch_id },
    );
  }

  // --- Signing, inside the processor's transaction -------------------------------------------

  /** Locks the batch for signing; null when another replica holds it. */
  async lockForSigning(tx: EntityManager, batchId: string): Promise<BatchRow | null> {
    const [row] = await tx.execute<BatchRow[]>(`select * from ${this.s}.withdrawal_batches where batch_id = ? for update skip locked`, [batchId]);
    return row ?? null;
  }

  /** Locks the HOT wallet's row: one owner at a time of its nonce and coins. */
  async lockWallet(tx: EntityManager, merchantId: string, networkId: string): Promise<void> {
    await tx.execute(`select 1 from ${this.s}.hot_wallets where merchant_id = ? and network_id = ? for update`, [merchantId, networkId]);
  }

  /** The wallet's transactions stored but not yet broadcast, and its approvals not yet mined. */
  async walletTxsInFlight(tx: EntityManager, networkId: string, address: string): Promise<TxRow[]> {
    return tx.execute<TxRow[]>(
      `select * from ${this.s}.withdrawal_txs where network_id = ? and from_address = ? and (status = 'SIGNED' or (kind = 'APPROVAL' and status = 'BROADCAST'))`,
      [networkId, address],
    );
  }

  async approvalMined(tx: EntityManager, txId: string, feePaid: bigint): Promise<void> {
    await tx.execute(`update ${this.s}.withdrawal_txs set status = 'CONFIRMED', fee_paid = ? where id = ?`, [feePaid.toString(), txId]);
  }

  /** True when a payout of the wallet was sent and is not mined yet. */
  async hasUnminedPayout(tx: EntityManager, networkId: string, address: string): Promise<boolean> {
    const rows = await tx.execute(
      `select 1 from ${this.s}.withdrawal_txs where network_id = ? and from_address = ? and status in ('BROADCAST','REPLACED') limit 1`,
      [networkId, address],
    );
    return rows.length > 0;
  }

  async waitForFunds(tx: EntityManager, batchId: string, reason: string, retryMs: number): Promise<void> {
    await tx.execute(
      `update ${this.s}.withdrawal_batches set status = 'WAITING_FUNDS', reason = ?, updated_at = now(), next_check_at = now() + (? * interval '1 millisecond') where batch_id = ?`,
      [reason, retryMs, batchId],
    );
  }

  /** The highest nonce of the wallet's transactions signed, sent or mined (not rejected or dropped); null before its first. */
  async maxSignedNonce(tx: EntityManager, networkId: string, address: string): Promise<number | null> {
    const [row] = await tx.execute<{ n: string | null }[]>(
      `select max(nonce)::text as n from ${this.s}.withdrawal_txs where network_id = ? and from_address = ? and status in ('SIGNED','BROADCAST','REPLACED','CONFIRMED')`,
      [networkId, address],
    );
    return row?.n === null || row?.n === undefined ? null : Number(row.n);
  }

  async approvalCount(tx: EntityManager, batchId: string): Promise<number> {
    const [row] = await tx.execute<{ n: number }[]>(`select count(*)::int as n from ${this.s}.withdrawal_txs where batch_id = ? and kind = 'APPROVAL'`, [
      batchId,
    ]);
    return row!.n;
  }

  /** Stores a signed transaction (status SIGNED) before anything is broadcast. */
  async insertTx(tx: EntityManager, b: BatchRow, kind: 'PAYOUT' | 'APPROVAL', seq: number, from: string, signed: SignedPayout): Promise<void> {
    await tx.execute(
      `insert into ${this.s}.withdrawal_txs (id, batch_id, kind, seq, network_id, from_address, nonce, tx_hash, raw, fee, fee_detail, status)
       values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?::jsonb, ?)`,
      [
        randomUUID(),
        b.batch_id,
        kind,
        seq,
        b.network_id,
        from,
        signed.nonce,
        signed.txHash,
        signed.raw,
        signed.fee.toString(),
        JSON.stringify(signed.feeDetail),
        'SIGNED',
      ],
    );
  }

  async markSigned(tx: EntityManager, batchId: string, txHash: string): Promise<void> {
    await tx.execute(`update ${this.s}.withdrawal_batches set status = 'SIGNED', reason = null, tx_hash = ?, updated_at = now() where batch_id = ?`, [
      txHash,
      batchId,
    ]);
  }

  // --- One transaction each -------------------------------------------------------------------

  /** NEW / WAITING_FUNDS -> FAILED with its event: nothing was signed. */
  async failUnsigned(b: BatchRow, reason: string): Promise<void> {
    await this.transaction(async (tx) => {
      const rows = await tx.execute(
        `update ${this.s}.withdrawal_batches set status = 'FAILED', reason = ?, updated_at = now() where batch_id = ? and status in ('NEW','WAITING_FUNDS') returning batch_id`,
        [reason, b.batch_id],
      );
      if (rows.length) await this.event(tx, b, 'FAILED', { reason });
    });
  }

  /** A stored transaction (by hash) the node refused for good. */
  async rejectSigned(txHash: string): Promise<void> {
    await this.conn().execute(`update ${this.s}.withdrawal_txs set status = 'REJECTED' where tx_hash = ? and status = 'SIGNED'`, [txHash]);
  }

  /** A stored transaction (by hash) the node took; its first broadcast time is kept. */
  async sentSigned(txHash: string): Promise<void> {
    await this.conn().execute(
      `update ${this.s}.withdrawal_txs set status = 'BROADCAST', broadcast_at = coalesce(broadcast_at, now()) where tx_hash = ? and status = 'SIGNED'`,
      [txHash],
    );
  }

  /** The batch's newest stored payout not sent yet (the first one, or a fee bump). */
  async newestSignedPayout(batchId: string): Promise<TxRow | null> {
    const [t] = await this.conn().execute<TxRow[]>(
      `select * from ${this.s}.withdrawal_txs where batch_id = ? and kind = 'PAYOUT' and status = 'SIGNED' order by seq desc limit 1`,
      [batchId],
    );
    return t ?? null;
  }

  /** The first payout was refused by the node: it and the batch FAIL, with the batch's event. */
  async failRejected(b: BatchRow, t: TxRow, reason: string): Promise<void> {
    await this.transaction(async (tx) => {
      // Only a version still SIGNED (never taken by the node) and a batch not moved on since: a
      // batch recorded BROADCAST or final meanwhile must never turn FAILED (its holds would go).
      const rejected = await tx.execute(`update ${this.s}.withdrawal_txs set status = 'REJECTED' where id = ? and status = 'SIGNED' returning id`, [t.id]);
      if (!rejected.length) return;
      const failed = await tx.execute(
        `update ${this.s}.withdrawal_batches set status = 'FAILED', reason = ?, updated_at = now() where batch_id = ? and status = 'SIGNED' returning batch_id`,
        [reason, b.batch_id],
      );
      if (failed.length) await this.event(tx, b, 'FAILED', { reason, txHash: t.tx_hash });
    });
  }

  /** A fee bump was refused: the version it would replace restarts its wait before the next bump. */
  async rejectBump(b: BatchRow, t: TxRow): Promise<void> {
    await this.transaction(async (tx) => {
      const rejected = await tx.execute(`update ${this.s}.withdrawal_txs set status = 'REJECTED' where id = ? and status = 'SIGNED' returning id`, [t.id]);
      if (!rejected.length) return;
      await tx.execute(
        `update ${this.s}.withdrawal_txs set broadcast_at = now() where batch_id = ? and kind = 'PAYOUT' and status = 'BROADCAST' and seq = (select max(seq) from ${this.s}.withdrawal_txs where batch_id = ? and kind = 'PAYOUT' and status = 'BROADCAST')`,
        [b.batch_id, b.batch_id],
      );
    });
  }

  /** The payout `t` was sent: it is BROADCAST, earlier versions REPLACED, the batch BROADCAST (+ event). */
  async recordBroadcast(b: BatchRow, t: TxRow, nextCheckMs: number): Promise<void> {
    await this.transaction(async (tx) => {
      const marked = await tx.execute(
        `update ${this.s}.withdrawal_txs set status = 'BROADCAST', broadcast_at = now() where id = ? and status = 'SIGNED' returning id`,
        [t.id],
      );
      if (!marked.length) return;
      await tx.execute(`update ${this.s}.withdrawal_txs set status = 'REPLACED' where batch_id = ? and kind = 'PAYOUT' and status = 'BROADCAST' and id <> ?`, [
        b.batch_id,
        t.id,
      ]);
      await tx.execute(
        `update ${this.s}.withdrawal_batches set status = 'BROADCAST', tx_hash = ?, updated_at = now(), next_check_at = now() + (? * interval '1 millisecond') where batch_id = ?`,
        [t.tx_hash, nextCheckMs, b.batch_id],
      );
      await this.event(tx, b, 'BROADCAST', { txHash: t.tx_hash });
    });
  }

  /** Every payout version of the batch that may still be mined, newest first. */
  async payoutVersions(batchId: string): Promise<TxRow[]> {
    return this.conn().execute<TxRow[]>(
      `select * from ${this.s}.withdrawal_txs where batch_id = ? and kind = 'PAYOUT' and status in ('SIGNED','BROADCAST','REPLACED') order by seq desc`,
      [batchId],
    );
  }

  /** No version was mined and none can be sent again: they are DROPPED and the batch FAILS (+ event). */
  async failDropped(b: BatchRow, latestHash: string, reason: string): Promise<void> {
    await this.transaction(async (tx) => {
      await tx.execute(`update ${this.s}.withdrawal_txs set status = 'DROPPED' where batch_id = ? and kind = 'PAYOUT' and status in ('BROADCAST','REPLACED')`, [
        b.batch_id,
      ]);
      const rows = await tx.execute(
        `update ${this.s}.withdrawal_batches set status = 'FAILED', reason = ?, updated_at = now() where batch_id = ? and status = 'BROADCAST' returning batch_id`,
        [reason, b.batch_id],
      );
      if (rows.length) await this.event(tx, b, 'FAILED', { reason, txHash: latestHash });
    });
  }

  /** Mined, not deep enough yet. */
  async recordDepth(batchId: string, txHash: string, confirmations: number, nextCheckMs: number): Promise<void> {
    await this.conn().execute(
      `update ${this.s}.withdrawal_batches set confirmations = ?, tx_hash = ?, next_check_at = now() + (? * interval '1 millisecond') where batch_id = ?`,
      [confirmations, txHash, nextCheckMs, batchId],
    );
  }

  /**
   * The mined payout `t` is final: it is CONFIRMED, other versions DROPPED, and the batch ends as
   * `outcome.status` with its event. The fee charged is what `t` paid plus the batch's mined
   * approvals (the one-time approve came from the same HOT wallet). Only from BROADCAST.
   */
  async recordFinal(b: BatchRow, t: TxRow, outcome: FinalOutcome): Promise<void> {
    await this.transaction(async (tx) => {
      const [row] = await tx.execute<BatchRow[]>(`select * from ${this.s}.withdrawal_batches where batch_id = ? for update`, [b.batch_id]);
      if (!row || row.status !== 'BROADCAST') return;
      await tx.execute(`update ${this.s}.withdrawal_txs set status = 'CONFIRMED', fee_paid = ?, block_height = ? where id = ?`, [
        outcome.paid.toString(),
        outcome.blockHeight,
        t.id,
      ]);
      await tx.execute(
        `update ${this.s}.withdrawal_txs set status = 'DROPPED' where batch_id = ? and kind = 'PAYOUT' and id <> ? and status in ('BROADCAST','REPLACED','SIGNED')`,
        [b.batch_id, t.id],
      );
      const [{ approvals }] = (await tx.execute<{ approvals: string }[]>(
        `select coalesce(sum(fee_paid), 0)::text as approvals from ${this.s}.withdrawal_txs where batch_id = ? and kind = 'APPROVAL' and status = 'CONFIRMED'`,
        [b.batch_id],
      )) as [{ approvals: string }];
      const fee = outcome.paid + BigInt(approvals);
      await tx.execute(
        `update ${this.s}.withdrawal_batches set status = ?, reason = ?, tx_hash = ?, fee = ?, confirmations = ?, updated_at = now() where batch_id = ?`,
        [outcome.status, outcome.reason, t.tx_hash, fee.toString(), outcome.confirmations, b.batch_id],
      );
      await this.event(tx, b, outcome.status, { txHash: t.tx_hash, fee, reason: outcome.reason, confirmations: outcome.confirmations });
    });
  }

  /** A stuck payout that cannot be bumped restarts its wait. */
  async restartWait(txId: string): Promise<void> {
    await this.conn().execute(`update ${this.s}.withdrawal_txs set broadcast_at = now() where id = ?`, [txId]);
  }

  /** Stores a fee bump of `latest` as the batch's next payout version. */
  async insertReplacement(b: BatchRow, latest: TxRow, replacement: SignedPayout): Promise<void> {
    await this.transaction((tx) => this.insertTx(tx, b, 'PAYOUT', latest.seq + 1, latest.from_address, replacement));
  }
}
