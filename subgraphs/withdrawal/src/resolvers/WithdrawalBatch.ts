import type { WithdrawalContext } from '../context';
import { type BatchRow, fmt } from '../services/rows';
import { decimalsOf } from './Withdrawal';

/** Reached only through one of the merchant's own withdrawals, so ownership is already checked. */
export const WithdrawalBatch = {
  id: (b: BatchRow) => b.id,
  network: (b: BatchRow) => ({ id: b.network_id }),
  withdrawals: (b: BatchRow, _: unknown, ctx: WithdrawalContext) => ctx.withdrawals.batchWithdrawals(b.id),
  txHash: (b: BatchRow) => b.tx_hash,
  fee: (b: BatchRow, _: unknown, ctx: WithdrawalContext) => (b.fee === null || !b.fee_coin_id ? null : fmt(b.fee, decimalsOf(b.fee_coin_id, ctx))),
  status: (b: BatchRow) => b.status,
  createdAt: (b: BatchRow) => b.created_at,
};
