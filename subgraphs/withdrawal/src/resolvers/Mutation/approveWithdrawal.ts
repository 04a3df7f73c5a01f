import { requireOperator } from '@cpg/core/graphql';
import type { WithdrawalContext } from '../../context';

/** Operator only: a withdrawal above approvalAbove (or sent to review by screening) goes on. */
export async function approveWithdrawal(_: unknown, args: { id: string }, ctx: WithdrawalContext) {
  requireOperator(ctx.identity);
  return ctx.withdrawals.approve(args.id);
}
