import { formatAmount } from '@cpg/core/money';
import type { WithdrawalContext } from '../context';
import type { WithdrawalResolvers, WithdrawalStatus } from '../generated/resolvers-types';
import { fmt } from '../services/rows';

export function decimalsOf(coinId: string, ctx: WithdrawalContext): number {
  const entry = ctx.withdrawals.coin(coinId);
  if (!entry) throw new Error(`coin ${coinId} is no longer configured`);
  return entry.coin.decimals;
}

export const Withdrawal: WithdrawalResolvers = {
  /** Federation entry (and the gateway's subscription re-read): merchants resolve only their own, the operator any. */
  __resolveReference: (ref, ctx) => ctx.withdrawals.findVisible(ctx.identity, ref.id),
  id: (w) => w.id,
  merchant: (w) => ({ id: w.merchant_id }),
  coin: (w) => ({ id: w.coin_id }),
  toAddress: (w) => w.to_address,
  amount: (w, _, ctx) => formatAmount(BigInt(w.amount), decimalsOf(w.coin_id, ctx)),
  fee: (w, _, ctx) => (w.fee === null || !w.fee_coin_id ? null : fmt(w.fee, decimalsOf(w.fee_coin_id, ctx))),
  feeCoin: (w) => (w.fee_coin_id ? { id: w.fee_coin_id } : null),
  // The column is text; callers are only ever served rows past PROVISIONAL, whose statuses are the enum's.
  status: (w) => w.status as WithdrawalStatus,
  idempotencyKey: (w) => w.idempotency_key,
  txHash: (w) => w.tx_hash,
  batch: (w, _, ctx) => (w.batch_id ? ctx.withdrawals.batch(w.batch_id) : null),
  failureReason: (w) => w.failure_reason,
  waitingReason: (w) => w.waiting_reason,
  createdAt: (w) => w.created_at,
  updatedAt: (w) => w.updated_at,
};
