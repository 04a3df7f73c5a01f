import type { WithdrawalContext } from '../context';
import { fmt } from '../services/rows';
import type { LimitRow } from '../services/withdrawals';
import { decimalsOf } from './Withdrawal';

export const WithdrawalLimit = {
  coin: (l: LimitRow) => ({ id: l.coin_id }),
  min: (l: LimitRow, _: unknown, ctx: WithdrawalContext) => fmt(l.min_amount, decimalsOf(l.coin_id, ctx)),
  max: (l: LimitRow, _: unknown, ctx: WithdrawalContext) => fmt(l.max_amount, decimalsOf(l.coin_id, ctx)),
  daily: (l: LimitRow, _: unknown, ctx: WithdrawalContext) => fmt(l.daily_amount, decimalsOf(l.coin_id, ctx)),
  approvalAbove: (l: LimitRow, _: unknown, ctx: WithdrawalContext) => fmt(l.approval_above, decimalsOf(l.coin_id, ctx)),
};
