import { formatAmount } from '@cpg/core/money';
import type { WithdrawalLimitResolvers } from '../generated/resolvers-types';
import { fmt } from '../services/rows';
import { decimalsOf } from './Withdrawal';

export const WithdrawalLimit: WithdrawalLimitResolvers = {
  coin: (l) => ({ id: l.coin_id }),
  min: (l, _, ctx) => formatAmount(BigInt(l.min_amount), decimalsOf(l.coin_id, ctx)),
  max: (l, _, ctx) => formatAmount(BigInt(l.max_amount), decimalsOf(l.coin_id, ctx)),
  daily: (l, _, ctx) => formatAmount(BigInt(l.daily_amount), decimalsOf(l.coin_id, ctx)),
  approvalAbove: (l, _, ctx) => fmt(l.approval_above, decimalsOf(l.coin_id, ctx)),
};
