import { requireMerchant } from '@cpg/core/graphql';
import type { WithdrawalContext } from '../../context';

export async function cancelWithdrawal(_: unknown, args: { id: string }, ctx: WithdrawalContext) {
  const caller = requireMerchant(ctx.identity, 'WITHDRAWALS_WRITE');
  return ctx.withdrawals.cancel(caller, args.id);
}
