import { createHash, randomUUID } from 'node:crypto';
import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { Bus } from '@cpg/core/bus';
import { codecFor } from '@cpg/chains/codecs';
import type { EntityManager } from '@cpg/core/db';
import { AppError, type Identity, type MerchantIdentity, badInput, conflict, notFound, unavailable } from '@cpg/core/graphql';
import type { Logger } from '@cpg/core/logger';
import { MoneyError, parseAmount } from '@cpg/core/money';
import { type AggregationSettings, DEFAULT_AGGREGATION, aggregationForFamily } from '../domain/batching';
import { decodeCursor, encodeCursor, pageSize } from '../domain/cursor';
import { type Limit, checkLimit, validateLimit } from '../domain/limits';
import { defaultRefund } from '../domain/refund';
import { type WithdrawalStatus, canCancel, initialStatus } from '../domain/status';
import type { CoinCatalogue, CoinEntry } from './catalogue';
import type { FeeEstimator, FeeQuote } from './fees';
import { type BatchRow, T, type WithdrawalRow, createBatch, emitLedger, emitUpdated, lockWithdrawal } from './rows';
import type { WithdrawalScreening } from './screening';

export interface RequestWithdrawalInput {
  coinId: string;
  toAddress: string;
  amount: string;
  idempotencyKey: string;
}

export interface RefundPaymentInput {
  paymentId: string;
  toAddress: string;
  amount?: string | null;
  idempotencyKey: string;
}

export interface SetLimitInput {
  coinId: string;
  min: string;
  max: string;
  daily: string;
  approvalAbove?: string | null;
}

export interface LimitRow {
  merchant_id: string;
  coin_id: string;
  min_amount: string;
  max_amount: string;
  daily_amount: string;
  approval_above: string | null;
}

export interface WithdrawalDeps {
  catalogue: CoinCatalogue;
  bus: Bus;
  screening: WithdrawalScreening;
  fees: FeeEstimator;
  holdTimeoutMs: number;
  /** After a commit that wrote outbox rows. */
  onCommitted: () => void;
  /** A withdrawal became QUEUED: the batcher may have a batch to cut. */
  onQueued: () => void;
  log?: Logger;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** How long a retry waits for a twin request (same key) that is still between insert and hold. */
const TWIN_WAIT_MS = 15_000;

export async function aggregationOf(em: EntityManager, merchantId: string): Promise<AggregationSettings> {
  const [s] = await em.execute<{ withdrawal_aggregation: 'NONE' | 'BATCH'; batch_max_size: number; batch_max_wait_seconds: number }[]>(
    `select withdrawal_aggregation, batch_max_size, batch_max_wait_seconds from ${T}.merchant_settings where merchant_id = ?`,
    [merchantId],
  );
  return s ? { mode: s.withdrawal_aggregation, maxSize: s.batch_max_size, maxWaitSeconds: s.batch_max_wait_seconds } : DEFAULT_AGGREGATION;
}

function limitOf(row: LimitRow | undefined): Limit | null {
  if (!row) return null;
  return {
    min: BigInt(row.min_amount),
    max: BigInt(row.max_amount),
    daily: BigInt(row.daily_amount),
    approvalAbove: row.approval_above === null ? null : BigInt(row.approval_above),
  };
}

interface Validated {
  entry: CoinEntry;
  toAddress: string;
  amount: bigint;
  key: string;
  fingerprint: string;
}

/** Merchant and network pairs whose HOT wallet is registered or being registered (see ensureHotWallet). */
const hotWalletsKnown = new Set<string>();

export class WithdrawalService {
  constructor(
    private readonly em: EntityManager,
    private readonly deps: WithdrawalDeps,
  ) {}

  coin(id: string): CoinEntry | undefined {
    return this.deps.catalogue.coin(id);
  }

  private entry(coinId: string, field = 'coinId'): CoinEntry {
    const entry = this.deps.catalogue.coin(coinId);
    if (!entry) throw badInput(`unknown coin "${coinId}"`, { field });
    if (!entry.network.enabled) throw badInput(`network ${entry.network.id} is not enabled on this gateway`, { field });
    return entry;
  }

  private amount(entry: CoinEntry, value: unknown, field: string): bigint {
    let units: bigint;
    try {
      units = parseAmount(value, entry.coin.decimals);
    } catch (err) {
      if (err instanceof MoneyError) throw badInput(err.message, { field });
      throw err;
    }
    if (units <= 0n) throw badInput(`${field} must be greater than zero`, { field });
    return units;
  }

  private validate(input: RequestWithdrawalInput, amount?: bigint): Validated {
    const key = input.idempotencyKey;
    if (typeof key !== 'string' || key.length < 1 || key.length > 200)
      throw badInput('idempotencyKey must be 1 to 200 characters', { field: 'idempotencyKey' });
    const entry = this.entry(input.coinId);
    const raw = typeof input.toAddress === 'string' ? input.toAddress.trim() : '';
    if (!raw || raw.length > 200) throw badInput('toAddress is not an address', { field: 'toAddress' });
    const checked = codecFor(entry.network.family).validateAddress(entry.network, raw);
    if (!checked.valid)
      throw badInput(`invalid ${entry.network.id} address: ${checked.reason ?? 'not an address'}`, { field: 'toAddress', reason: checked.reason });
    const toAddress = checked.normalized ?? raw;
    const units = amount ?? this.amount(entry, input.amount, 'amount');
    // What was asked for, so a retry with the same key can be told from a different request.
    const fingerprint = createHash('sha256')
      .update(JSON.stringify([entry.coin.id, toAddress, units.toString()]))
      .digest('hex');
    return { entry, toAddress, amount: units, key, fingerprint };
  }

  private async byKey(merchantId: string, key: string): Promise<WithdrawalRow | null> {
    const rows = await this.em.execute<WithdrawalRow[]>(`select * from ${T}.withdrawals where merchant_id = ? and idempotency_key = ?`, [merchantId, key]);
    return rows[0] ?? null;
  }

  async request(caller: MerchantIdentity, input: RequestWithdrawalInput, opts: { amount?: bigint; paymentId?: string } = {}): Promise<WithdrawalRow> {
    const v = this.validate(input, opts.amount);
    return this.requestValidated(caller.merchantId, v, opts.paymentId ?? null, 0);
  }

  private async requestValidated(merchantId: string, v: Validated, paymentId: string | null, attempt: number): Promise<WithdrawalRow> {
    const existing = await this.byKey(merchantId, v.key);
    if (existing) return this.answerTwin(merchantId, v, existing, paymentId, attempt);

    const id = randomUUID();
    const now = new Date();
    let limit: Limit | null;
    try {
      limit = await this.em.fork().transactional(async (tx) => {
        // The limit row serialises requests of one merchant and coin, so the daily sum counts
        // every request in flight (PROVISIONAL rows included).
        const [row] = await tx.execute<LimitRow[]>(`select * from ${T}.withdrawal_limits where merchant_id = ? and coin_id = ? for update`, [
          merchantId,
          v.entry.coin.id,
        ]);
        const lim = limitOf(row);
        if (lim) {
          const [used] = await tx.execute<{ total: string }[]>(
            `select coalesce(sum(amount), 0)::text as total from ${T}.withdrawals
              where merchant_id = ? and coin_id = ? and created_at > ? and status not in ('FAILED', 'CANCELLED', 'REJECTED')`,
            [merchantId, v.entry.coin.id, new Date(now.getTime() - 24 * 3600_000)],
          );
          const breach = checkLimit(lim, v.amount, BigInt(used?.total ?? '0'));
          if (breach) throw badInput(breach.message, { field: 'amount', limit: breach.field });
        }
        await tx.execute(
          `insert into ${T}.withdrawals (id, merchant_id, coin_id, network_id, to_address, amount, idempotency_key, fingerprint, status, payment_id, created_at, updated_at)
           values (?, ?, ?, ?, ?, ?::numeric, ?, ?, 'PROVISIONAL', ?, ?, ?)`,
          [id, merchantId, v.entry.coin.id, v.entry.network.id, v.toAddress, v.amount.toString(), v.key, v.fingerprint, paymentId, now, now],
        );
        return lim;
      });
    } catch (err) {
      if (err instanceof UniqueConstraintViolationException) {
        const twin = await this.byKey(merchantId, v.key);
        if (twin) return this.answerTwin(merchantId, v, twin, paymentId, attempt);
      }
      throw err;
    }
    return this.complete(id, merchantId, v, limit);
  }

  /** Same key seen before: the same request answers with the same withdrawal, another is CONFLICT. */
  private async answerTwin(merchantId: string, v: Validated, row: WithdrawalRow, paymentId: string | null, attempt: number): Promise<WithdrawalRow> {
    if (row.fingerprint !== v.fingerprint) {
      throw conflict('this idempotencyKey was already used for a different withdrawal request', { field: 'idempotencyKey' });
    }
    if (row.status !== 'PROVISIONAL') return row;
    // The twin is still asking for its hold: wait for its outcome.
    const until = Date.now() + TWIN_WAIT_MS;
    while (Date.now() < until) {
      await new Promise((r) => setTimeout(r, 100));
      const [now] = await this.em.fork().execute<WithdrawalRow[]>(`select * from ${T}.withdrawals where id = ?`, [row.id]);
      if (!now) {
        // It failed and left nothing: this request tries again on its own.
        if (attempt >= 2) throw unavailable('the withdrawal could not be requested right now; try again');
        return this.requestValidated(merchantId, v, paymentId, attempt + 1);
      }
      if (now.status !== 'PROVISIONAL') return now;
    }
    throw unavailable('a request with this idempotencyKey is still in progress; try again shortly');
  }

  /** Screening, then the hold, each outside any transaction; the outcome is stored under the row lock. */
  private async complete(id: string, merchantId: string, v: Validated, limit: Limit | null): Promise<WithdrawalRow> {
    this.ensureHotWallet(merchantId, v.entry.network.id);
    let screening;
    try {
      screening = await this.deps.screening.screen({
        merchantId,
        networkId: v.entry.network.id,
        address: v.toAddress,
        coinId: v.entry.coin.id,
        amount: v.amount,
        subjectRef: `withdrawal:${id}`,
      });
    } catch (err) {
      this.deps.log?.warn({ err: (err as Error).message, withdrawalId: id }, 'screening failed');
      await this.abandon(id, false);
      throw unavailable('compliance screening is not available right now; nothing was withdrawn, try again shortly');
    }

    if (screening.decision === 'BLOCK') {
      const reason = screening.reasons.length ? screening.reasons.join('; ') : 'blocked by compliance screening';
      return this.finish(id, async (tx, row) => {
        const [out] = await tx.execute<WithdrawalRow[]>(
          `update ${T}.withdrawals set status = 'REJECTED', failure_reason = ?, assessment_id = ?, updated_at = ? where id = ? returning *`,
          [reason, screening.assessmentId ?? null, new Date(), row.id],
        );
        await emitUpdated(tx, row, 'rejected', 'REJECTED');
        return out!;
      });
    }

    let reply;
    try {
      reply = await this.deps.bus.request(
        'ledger.hold',
        { merchantId, coinId: v.entry.coin.id, amount: v.amount.toString(), withdrawalId: id },
        this.deps.holdTimeoutMs,
      );
    } catch (err) {
      // The hold may have been applied after all: the release (or its tombstone) undoes it.
      this.deps.log?.warn({ err: (err as Error).message, withdrawalId: id }, 'ledger hold failed');
      await this.abandon(id, true);
      throw unavailable('the ledger did not answer; nothing was withdrawn, try again shortly');
    }
    if (!reply.ok) {
      await this.abandon(id, true);
      if (reply.reason === 'INSUFFICIENT_FUNDS') {
        throw new AppError('INSUFFICIENT_FUNDS', `the available balance of ${v.entry.coin.id} does not cover this withdrawal`, { coinId: v.entry.coin.id });
      }
      throw unavailable('the withdrawal could not be held; try again');
    }

    const status = initialStatus(v.amount, limit?.approvalAbove ?? null, screening.decision);
    const row = await this.finish(id, async (tx, row) => {
      const now = new Date();
      const [out] = await tx.execute<WithdrawalRow[]>(
        `update ${T}.withdrawals set status = ?, held = true, assessment_id = ?, queued_at = ?, updated_at = ? where id = ? returning *`,
        [status, screening.assessmentId ?? null, status === 'QUEUED' ? now : null, now, row.id],
      );
      await emitUpdated(tx, out!, status === 'QUEUED' ? 'requested' : 'pending_approval', status);
      return this.sendIfNone(tx, out!);
    });
    if (row.status === 'QUEUED') this.deps.onQueued();
    return row;
  }

  /**
   * The HOT wallet a withdrawal is paid from should be one of our watched addresses: a refill is
   * then seen (credited, and it wakes the signer at once) and change back to it is told internal.
   * The signer pays from that same wallet whether or not this has happened, so it runs beside the
   * request, not in its way: once per merchant and network per process, retried by the next
   * request after a failure; idempotent on the address subgraph's side.
   */
  private ensureHotWallet(merchantId: string, networkId: string): void {
    const key = `${merchantId}:${networkId}`;
    if (hotWalletsKnown.has(key)) return;
    hotWalletsKnown.add(key);
    this.deps.bus.request('address.ensure_hot', { merchantId, networkId }, 10_000).catch((err: Error) => {
      hotWalletsKnown.delete(key);
      this.deps.log?.warn({ err: err.message, merchantId, networkId }, 'HOT wallet not registered with the address subgraph yet; the next withdrawal retries');
    });
  }

  /** NONE aggregation: a QUEUED withdrawal is its own batch at once, in the caller's transaction. */
  private async sendIfNone(tx: EntityManager, row: WithdrawalRow): Promise<WithdrawalRow> {
    if (row.status !== 'QUEUED') return row;
    const settings = aggregationForFamily(await aggregationOf(tx, row.merchant_id), this.deps.catalogue.coin(row.coin_id)?.network.family);
    if (settings.mode !== 'NONE') return row;
    const batch = await createBatch(tx, [row]);
    return { ...row, status: 'BATCHED', batch_id: batch.id };
  }

  private async finish(id: string, apply: (tx: EntityManager, row: WithdrawalRow) => Promise<WithdrawalRow>): Promise<WithdrawalRow> {
    const out = await this.em.fork().transactional(async (tx) => {
      const row = await lockWithdrawal(tx, id);
      // Reaped as abandoned (see reapProvisional) while this request was stuck: its release is on the way.
      if (!row) throw unavailable('the withdrawal request took too long and was undone; nothing was withdrawn, try again');
      if (row.status !== 'PROVISIONAL') return row;
      return apply(tx, row);
    });
    this.deps.onCommitted();
    return out;
  }

  /**
   * Compensation of a request that did not complete: the provisional row goes (it never counted
   * for anything but the daily sum) and, when a hold may exist, a release is recorded in the same
   * transaction. The ledger applies it once, or leaves a tombstone that refuses a late hold.
   */
  private async abandon(id: string, mayHold: boolean): Promise<void> {
    await this.em.fork().transactional(async (tx) => {
      const [row] = await tx.execute<WithdrawalRow[]>(`delete from ${T}.withdrawals where id = ? and status = 'PROVISIONAL' returning *`, [id]);
      if (row && mayHold) await emitLedger(tx, row, 'release');
    });
    if (mayHold) this.deps.onCommitted();
  }

  /** The merchant cancels a withdrawal not yet batched; the row lock makes a race with the batcher have one winner. */
  async cancel(caller: MerchantIdentity, id: string): Promise<WithdrawalRow> {
    return this.transition(id, caller.merchantId, (row) => {
      if (!canCancel(row.status as WithdrawalStatus)) throw conflict(`the withdrawal is ${row.status} and can no longer be cancelled`, { status: row.status });
      return { status: 'CANCELLED', event: 'cancelled', release: true };
    });
  }

  async approve(id: string): Promise<WithdrawalRow> {
    return this.transition(id, null, (row) => {
      if (row.status !== 'PENDING_APPROVAL') throw conflict(`the withdrawal is ${row.status}, not waiting for approval`, { status: row.status });
      return { status: 'QUEUED', event: 'approved', release: false };
    });
  }

  async reject(id: string, reason: string): Promise<WithdrawalRow> {
    if (typeof reason !== 'string' || !reason.trim() || reason.length > 500) throw badInput('reason must be 1 to 500 characters', { field: 'reason' });
    return this.transition(id, null, (row) => {
      if (row.status !== 'PENDING_APPROVAL') throw conflict(`the withdrawal is ${row.status}, not waiting for approval`, { status: row.status });
      return { status: 'REJECTED', event: 'rejected', release: true, failureReason: reason.trim() };
    });
  }

  private async transition(
    id: string,
    merchantId: string | null,
    decide: (row: WithdrawalRow) => { status: WithdrawalStatus; event: string; release: boolean; failureReason?: string },
  ): Promise<WithdrawalRow> {
    if (!UUID.test(id)) throw notFound('withdrawal');
    const row = await this.em.fork().transactional(async (tx) => {
      const row = await lockWithdrawal(tx, id);
      if (!row || row.status === 'PROVISIONAL' || (merchantId && row.merchant_id !== merchantId)) throw notFound('withdrawal');
      const step = decide(row);
      const now = new Date();
      const [out] = await tx.execute<WithdrawalRow[]>(
        `update ${T}.withdrawals set status = ?, failure_reason = coalesce(?, failure_reason), queued_at = case when ? = 'QUEUED' then ? else queued_at end, updated_at = ?
          where id = ? returning *`,
        [step.status, step.failureReason ?? null, step.status, now, now, id],
      );
      await emitUpdated(tx, out!, step.event, step.status);
      if (step.release && row.held) await emitLedger(tx, row, 'release');
      return this.sendIfNone(tx, out!);
    });
    this.deps.onCommitted();
    if (row.status === 'QUEUED') this.deps.onQueued();
    return row;
  }

  /** Merchants see their own withdrawals; the operator sees every merchant's. */
  async findVisible(identity: Identity, id: string): Promise<WithdrawalRow | null> {
    if (identity.kind === 'anonymous' || !UUID.test(id)) return null;
    const [row] = await this.em.execute<WithdrawalRow[]>(`select * from ${T}.withdrawals where id = ? and status <> 'PROVISIONAL'`, [id]);
    if (!row) return null;
    if (identity.kind === 'merchant' && identity.merchantId !== row.merchant_id) return null;
    return row;
  }

  async list(
    merchantId: string | null,
    filter: { status?: string | null; coinId?: string | null } | null | undefined,
    first?: number | null,
    after?: string | null,
  ) {
    const limit = pageSize(first);
    const where: string[] = [`status <> 'PROVISIONAL'`];
    const params: unknown[] = [];
    if (merchantId) {
      where.push('merchant_id = ?');
      params.push(merchantId);
    }
    if (filter?.status) {
      where.push('status = ?');
      params.push(filter.status);
    }
    if (filter?.coinId) {
      where.push('coin_id = ?');
      params.push(filter.coinId);
    }
    if (after) {
      const pos = decodeCursor(after);
      where.push('(created_at, id) < (?, ?::uuid)');
      params.push(pos.createdAt, pos.id);
    }
    const rows = await this.em.execute<WithdrawalRow[]>(
      `select * from ${T}.withdrawals where ${where.join(' and ')} order by created_at desc, id desc limit ?`,
      [...params, limit + 1],
    );
    const nodes = rows.slice(0, limit);
    const last = nodes[nodes.length - 1];
    return {
      nodes,
      pageInfo: { hasNextPage: rows.length > limit, endCursor: last ? encodeCursor({ createdAt: new Date(last.created_at), id: last.id }) : null },
    };
  }

  async batch(id: string): Promise<BatchRow | null> {
    const [row] = await this.em.execute<BatchRow[]>(`select * from ${T}.batches where id = ?`, [id]);
    return row ?? null;
  }

  async batchWithdrawals(batchId: string): Promise<WithdrawalRow[]> {
    return this.em.execute<WithdrawalRow[]>(`select * from ${T}.withdrawals where batch_id = ? order by created_at, id`, [batchId]);
  }

  async limits(merchantId: string): Promise<LimitRow[]> {
    return this.em.execute<LimitRow[]>(`select * from ${T}.withdrawal_limits where merchant_id = ? order by coin_id`, [merchantId]);
  }

  async setLimit(caller: MerchantIdentity, input: SetLimitInput): Promise<LimitRow> {
    const entry = this.entry(input.coinId);
    const units = (value: unknown, field: string) => {
      try {
        return parseAmount(value, entry.coin.decimals);
      } catch (err) {
        if (err instanceof MoneyError) throw badInput(err.message, { field });
        throw err;
      }
    };
    const l = validateLimit({
      min: units(input.min, 'min'),
      max: units(input.max, 'max'),
      daily: units(input.daily, 'daily'),
      approvalAbove: input.approvalAbove == null ? null : units(input.approvalAbove, 'approvalAbove'),
    });
    const [row] = await this.em.execute<LimitRow[]>(
      `insert into ${T}.withdrawal_limits (merchant_id, coin_id, min_amount, max_amount, daily_amount, approval_above, updated_at)
       values (?, ?, ?::numeric, ?::numeric, ?::numeric, ?::numeric, now())
       on conflict (merchant_id, coin_id) do update set min_amount = excluded.min_amount, max_amount = excluded.max_amount,
         daily_amount = excluded.daily_amount, approval_above = excluded.approval_above, updated_at = excluded.updated_at
       returning *`,
      [caller.merchantId, entry.coin.id, l.min.toString(), l.max.toString(), l.daily.toString(), l.approvalAbove?.toString() ?? null],
    );
    return row!;
  }

  async estimateFee(coinId: string, amount: string): Promise<FeeQuote & { entry: CoinEntry }> {
    const entry = this.entry(coinId);
    // Checked like a request's amount; one payout's network fee does not depend on it.
    this.amount(entry, amount, 'amount');
    return { ...(await this.deps.fees.estimate(entry.network, entry.coin)), entry };
  }

  /** A withdrawal of the payment's coin back to the payer: by default the overpaid part, else all received (confirmed). */
  async refund(caller: MerchantIdentity, input: RefundPaymentInput): Promise<WithdrawalRow> {
    if (!UUID.test(input.paymentId)) throw notFound('payment');
    let snap;
    try {
      snap = await this.deps.bus.request('payment.snapshot', { paymentId: input.paymentId, merchantId: caller.merchantId }, 5000);
    } catch (err) {
      this.deps.log?.warn({ err: (err as Error).message }, 'payment snapshot failed');
      throw unavailable('the payment cannot be read right now; try again shortly');
    }
    if (!snap.found) throw notFound('payment');
    const p = snap.payment;
    const entry = this.entry(p.coinId, 'paymentId');
    const d = entry.coin.decimals;
    const amount =
      input.amount != null
        ? this.amount(entry, input.amount, 'amount')
        : defaultRefund({ amount: p.amount === null ? null : parseAmount(p.amount, d), amountConfirmed: parseAmount(p.amountConfirmed, d) });
    return this.request(
      caller,
      { coinId: p.coinId, toAddress: input.toAddress, amount: '', idempotencyKey: input.idempotencyKey },
      { amount, paymentId: p.id },
    );
  }
}
