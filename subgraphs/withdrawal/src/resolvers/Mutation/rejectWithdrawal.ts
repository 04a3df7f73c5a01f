import { requireOperator } from '@cpg/core/graphql';
import type { WithdrawalContext } from '../../context';

/** Operator only: the withdrawal ends REJECTED with the reason and its hold is released. */
export async function rejectWithdrawal(_: unknown, args: { id: string; reason: string }, ctx: WithdrawalContext) {
  requireOperator(ctx.identity);
  return ctx.withdrawals.reject(args.id, args.reason);
}
