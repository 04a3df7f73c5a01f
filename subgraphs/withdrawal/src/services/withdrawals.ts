import type { EntityManager } from '@cpg/core/db';
import { type Identity, type MerchantIdentity, badInput, conflict, notFound, unavailable } from '@cpg/core/graphql';
import { parseAmount } from '@cpg/core/money';
import { decodeCursor, encodeCursor, pageSize } from '../domain/cursor';
import { validateLimit } from '../domain/limits';
import { defaultRefund } from '../domain/refund';
import { type WithdrawalStatus, canCancel } from '../domain/status';
import type { CoinEntry } from './catalogue';
import type { FeeQuote } from './fees';
import { emitLedger, emitUpdated } from './withdrawal-events';
import { type RequestWithdrawalInput, UUID, unitsOf, validateRequest, withdrawableCoin } from './withdrawal-input';
import { type WithdrawalDeps, WithdrawalRequest, sendIfNone } from './withdrawal-request';
import {
  type LimitRow,
  batchById,
  limitsOf,
  listWithdrawals,
  requestedWithdrawal,
  setStatus,
  upsertLimit,
  withdrawalsOfBatch,
  type BatchRow,
  type WithdrawalRow,
  lockWithdrawal,
} from './withdrawal-store';

export type { RequestWithdrawalInput } from './withdrawal-input';
export type { WithdrawalDeps } from './withdrawal-request';
export { type LimitRow, aggregationOf } from './withdrawal-store';

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

/** One decided step of a withdrawal's status, and whether it gives the held amount back. */
interface Step {
  status: WithdrawalStatus;
  event: string;
  release: boolean;
  failureReason?: string;
}

/**
 * What the resolvers ask of withdrawals: requests and refunds (withdrawal-request.ts), the
 * merchant's and the operator's decisions, reads, and limits.
 */
export class WithdrawalService {
  private readonly requests: WithdrawalRequest;

  constructor(
    private readonly em: EntityManager,
    private readonly deps: WithdrawalDeps,
  ) {
    this.requests = new WithdrawalRequest(em, deps);
  }

  coin(id: string): CoinEntry | undefined {
    return this.deps.catalogue.coin(id);
  }

  async request(caller: MerchantIdentity, input: RequestWithdrawalInput, opts: { amount?: bigint; paymentId?: string } = {}): Promise<WithdrawalRow> {
    const v = validateRequest(this.deps.catalogue, input, opts.amount);
    return this.requests.run(caller.merchantId, v, opts.paymentId ?? null);
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
    const entry = withdrawableCoin(this.deps.catalogue, p.coinId, 'paymentId');
    const d = entry.coin.decimals;
    const amount =
      input.amount != null
        ? unitsOf(entry, input.amount, 'amount')
        : defaultRefund({ amount: p.amount === null ? null : parseAmount(p.amount, d), amountConfirmed: parseAmount(p.amountConfirmed, d) });
    return this.request(
      caller,
      { coinId: p.coinId, toAddress: input.toAddress, amount: '', idempotencyKey: input.idempotencyKey },
      { amount, paymentId: p.id },
    );
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

  /** `merchantId` null: the operator, who may act on any merchant's withdrawal. */
  private async transition(id: string, merchantId: string | null, decide: (row: WithdrawalRow) => Step): Promise<WithdrawalRow> {
    if (!UUID.test(id)) throw notFound('withdrawal');
    const row = await this.em.fork().transactional(async (tx) => {
      const row = await lockWithdrawal(tx, id);
      if (!row || row.status === 'PROVISIONAL' || (merchantId && row.merchant_id !== merchantId)) throw notFound('withdrawal');
      const step = decide(row);
      const out = await setStatus(tx, id, step.status, step.failureReason ?? null, new Date());
      await emitUpdated(tx, out, step.event, step.status);
      if (step.release && row.held) await emitLedger(tx, row, 'release');
      return sendIfNone(tx, this.deps.catalogue, out);
    });
    this.deps.onCommitted();
    if (row.status === 'QUEUED') this.deps.onQueued();
    return row;
  }

  /** Merchants see their own withdrawals; the operator sees every merchant's. */
  async findVisible(identity: Identity, id: string): Promise<WithdrawalRow | null> {
    if (identity.kind === 'anonymous' || !UUID.test(id)) return null;
    const row = await requestedWithdrawal(this.em, id);
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
    const rows = await listWithdrawals(
      this.em,
      { merchantId, status: filter?.status, coinId: filter?.coinId, after: after ? decodeCursor(after) : undefined },
      limit + 1,
    );
    const nodes = rows.slice(0, limit);
    const last = nodes[nodes.length - 1];
    return {
      nodes,
      pageInfo: { hasNextPage: rows.length > limit, endCursor: last ? encodeCursor({ createdAt: new Date(last.created_at), id: last.id }) : null },
    };
  }

  async batch(id: string): Promise<BatchRow | null> {
    return batchById(this.em, id);
  }

  async batchWithdrawals(batchId: string): Promise<WithdrawalRow[]> {
    return withdrawalsOfBatch(this.em, batchId);
  }

  async limits(merchantId: string): Promise<LimitRow[]> {
    return limitsOf(this.em, merchantId);
  }

  async setLimit(caller: MerchantIdentity, input: SetLimitInput): Promise<LimitRow> {
    const entry = withdrawableCoin(this.deps.catalogue, input.coinId);
    const units = (value: unknown, field: string) => unitsOf(entry, value, field, false);
    const l = validateLimit({
      min: units(input.min, 'min'),
      max: units(input.max, 'max'),
      daily: units(input.daily, 'daily'),
      approvalAbove: input.approvalAbove == null ? null : units(input.approvalAbove, 'approvalAbove'),
    });
    return upsertLimit(this.em, caller.merchantId, entry.coin.id, l);
  }

  async estimateFee(coinId: string, amount: string): Promise<FeeQuote & { entry: CoinEntry }> {
    const entry = withdrawableCoin(this.deps.catalogue, coinId);
    // Checked like a request's amount; one payout's network fee does not depend on it.
    unitsOf(entry, amount, 'amount');
    return { ...(await this.deps.fees.estimate(entry.network, entry.coin)), entry };
  }
}
