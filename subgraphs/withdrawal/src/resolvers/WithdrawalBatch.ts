import type { WithdrawalBatchResolvers } from '../generated/resolvers-types';
import { fmt } from '../services/rows';
import { decimalsOf } from './Withdrawal';

/** Reached only through one of the merchant's own withdrawals, so ownership is already checked. */
export const WithdrawalBatch: WithdrawalBatchResolvers = {
  id: (b) => b.id,
  network: (b) => ({ id: b.network_id }),
  withdrawals: (b, _, ctx) => ctx.withdrawals.batchWithdrawals(b.id),
  txHash: (b) => b.tx_hash,
  fee: (b, _, ctx) => (b.fee === null || !b.fee_coin_id ? null : fmt(b.fee, decimalsOf(b.fee_coin_id, ctx))),
  status: (b) => b.status,
  createdAt: (b) => b.created_at,
};
