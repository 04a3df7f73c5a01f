import type { WithdrawalContext } from '../context';
import { type WithdrawalRow, fmt } from '../services/rows';

export function decimalsOf(coinId: string, ctx: WithdrawalContext): number {
  const entry = ctx.withdrawals.coin(coinId);
  if (!entry) throw new Error(`coin ${coinId} is no longer configured`);
  return entry.coin.decimals;
}

export const Withdrawal = {
  /** Federation entry (and the gateway's subscription re-read): merchants resolve only their own, the operator any. */
  __resolveReference: (ref: { id: string }, ctx: WithdrawalContext) => ctx.withdrawals.findVisible(ctx.identity, ref.id),
  id: (w: WithdrawalRow) => w.id,
  merchant: (w: WithdrawalRow) => ({ id: w.merchant_id }),
  coin: (w: WithdrawalRow) => ({ id: w.coin_id }),
  toAddress: (w: WithdrawalRow) => w.to_address,
  amount: (w: WithdrawalRow, _: unknown, ctx: WithdrawalContext) => fmt(w.amount, decimalsOf(w.coin_id, ctx)),
  fee: (w: WithdrawalRow, _: unknown, ctx: WithdrawalContext) => (w.fee === null || !w.fee_coin_id ? null : fmt(w.fee, decimalsOf(w.fee_coin_id, ctx))),
  feeCoin: (w: WithdrawalRow) => (w.fee_coin_id ? { id: w.fee_coin_id } : null),
  status: (w: WithdrawalRow) => w.status,
  idempotencyKey: (w: WithdrawalRow) => w.idempotency_key,
  txHash: (w: WithdrawalRow) => w.tx_hash,
  batch: (w: WithdrawalRow, _: unknown, ctx: WithdrawalContext) => (w.batch_id ? ctx.withdrawals.batch(w.batch_id) : null),
  failureReason: (w: WithdrawalRow) => w.failure_reason,
  waitingReason: (w: WithdrawalRow) => w.waiting_reason,
  createdAt: (w: WithdrawalRow) => w.created_at,
  updatedAt: (w: WithdrawalRow) => w.updated_at,
};
