import { randomUUID } from 'node:crypto';
import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { Bus } from '@cpg/core/bus';
import type { EntityManager } from '@cpg/core/db';
import { AppError, badInput, conflict, unavailable } from '@cpg/core/graphql';
import type { Logger } from '@cpg/core/logger';
import { aggregationForFamily } from '../domain/batching';
import { type Limit, checkLimit } from '../domain/limits';
import { initialStatus } from '../domain/status';
import type { CoinCatalogue } from './catalogue';
import type { FeeEstimator } from './fees';
import type { WithdrawalScreening } from './screening';
import { emitLedger, emitUpdated } from './withdrawal-events';
import type { ValidatedRequest } from './withdrawal-input';
import {
  aggregationOf,
  deleteProvisional,
  insertProvisional,
  limitOf,
  lockLimit,
  markHeld,
  markRejected,
  requestedSince,
  withdrawalById,
  withdrawalByKey,
  type WithdrawalRow,
  createBatch,
  lockWithdrawal,
} from './withdrawal-store';

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

/** How long a retry waits for a twin request (same key) that is still between insert and hold. */
const TWIN_WAIT_MS = 15_000;

/** Merchant and network pairs whose HOT wallet is registered or being registered (see ensureHotWallet). */
const hotWalletsKnown = new Set<string>();

/** NONE aggregation: a QUEUED withdrawal is its own batch at once, in the caller's transaction. */
export async function sendIfNone(tx: EntityManager, catalogue: CoinCatalogue, row: WithdrawalRow): Promise<WithdrawalRow> {
  if (row.status !== 'QUEUED') return row;
  const settings = aggregationForFamily(await aggregationOf(tx, row.merchant_id), catalogue.coin(row.coin_id)?.network.family);
  if (settings.mode !== 'NONE') return row;
  const batch = await createBatch(tx, [row]);
  return { ...row, status: 'BATCHED', batch_id: batch.id };
}

/**
 * One withdrawal request from a checked input to its outcome: a PROVISIONAL row within the
 * merchant's limits, then screening and the ledger hold, each outside any transaction, then the
 * outcome stored under the row lock. A request that cannot complete is undone (see abandon). The
 * idempotency key makes it safe to retry: a twin with the same key answers with the same row.
 */
export class WithdrawalRequest {
  constructor(
    private readonly em: EntityManager,
    private readonly deps: WithdrawalDeps,
  ) {}

  /** Called per request (and once more per twin that vanished, up to `attempt` 2). */
  async run(merchantId: string, v: ValidatedRequest, paymentId: string | null, attempt = 0): Promise<WithdrawalRow> {
    const existing = await withdrawalByKey(this.em, merchantId, v.key);
    if (existing) return this.answerTwin(merchantId, v, existing, paymentId, attempt);

    const id = randomUUID();
    const now = new Date();
    let limit: Limit | null;
    try {
      limit = await this.em.fork().transactional(async (tx) => {
        const lim = limitOf(await lockLimit(tx, merchantId, v.entry.coin.id));
        if (lim) {
          const used = await requestedSince(tx, merchantId, v.entry.coin.id, new Date(now.getTime() - 24 * 3600_000));
          const breach = checkLimit(lim, v.amount, used);
          if (breach) throw badInput(breach.message, { field: 'amount', limit: breach.field });
        }
        await insertProvisional(tx, {
          id,
          merchantId,
          coinId: v.entry.coin.id,
          networkId: v.entry.network.id,
          toAddress: v.toAddress,
          amount: v.amount,
          idempotencyKey: v.key,
          fingerprint: v.fingerprint,
          paymentId,
          now,
        });
        return lim;
      });
    } catch (err) {
      if (err instanceof UniqueConstraintViolationException) {
        const twin = await withdrawalByKey(this.em, merchantId, v.key);
        if (twin) return this.answerTwin(merchantId, v, twin, paymentId, attempt);
      }
      throw err;
    }
    return this.complete(id, merchantId, v, limit);
  }

  /** Same key seen before: the same request answers with the same withdrawal, another is CONFLICT. */
  private async answerTwin(merchantId: string, v: ValidatedRequest, row: WithdrawalRow, paymentId: string | null, attempt: number): Promise<WithdrawalRow> {
    if (row.fingerprint !== v.fingerprint) {
      throw conflict('this idempotencyKey was already used for a different withdrawal request', { field: 'idempotencyKey' });
    }
    if (row.status !== 'PROVISIONAL') return row;
    // The twin is still asking for its hold: wait for its outcome.
    const until = Date.now() + TWIN_WAIT_MS;
    while (Date.now() < until) {
      await new Promise((r) => setTimeout(r, 100));
      const now = await withdrawalById(this.em.fork(), row.id);
      if (!now) {
        // It failed and left nothing: this request tries again on its own.
        if (attempt >= 2) throw unavailable('the withdrawal could not be requested right now; try again');
        return this.run(merchantId, v, paymentId, attempt + 1);
      }
      if (now.status !== 'PROVISIONAL') return now;
    }
    throw unavailable('a request with this idempotencyKey is still in progress; try again shortly');
  }

  /** Screening, then the hold, each outside any transaction; the outcome is stored under the row lock. */
  private async complete(id: string, merchantId: string, v: ValidatedRequest, limit: Limit | null): Promise<WithdrawalRow> {
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
    const assessmentId = screening.assessmentId ?? null;

    if (screening.decision === 'BLOCK') {
      const reason = screening.reasons.length ? screening.reasons.join('; ') : 'blocked by compliance screening';
      return this.finish(id, async (tx, row) => {
        const out = await markRejected(tx, row.id, reason, assessmentId);
        await emitUpdated(tx, row, 'rejected', 'REJECTED');
        return out;
      });
    }

    await this.hold(id, merchantId, v);
    const status = initialStatus(v.amount, limit?.approvalAbove ?? null, screening.decision);
    const row = await this.finish(id, async (tx, row) => {
      const out = await markHeld(tx, row.id, status, assessmentId, new Date());
      await emitUpdated(tx, out, status === 'QUEUED' ? 'requested' : 'pending_approval', status);
      return sendIfNone(tx, this.deps.catalogue, out);
    });
    if (row.status === 'QUEUED') this.deps.onQueued();
    return row;
  }

  /** Asks the ledger to hold the amount; on any failure the request is undone and the caller told why. */
  private async hold(id: string, merchantId: string, v: ValidatedRequest): Promise<void> {
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
      const row = await deleteProvisional(tx, id);
      if (row && mayHold) await emitLedger(tx, row, 'release');
    });
    if (mayHold) this.deps.onCommitted();
  }
}
