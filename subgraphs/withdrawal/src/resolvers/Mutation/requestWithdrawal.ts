import { requireMerchant } from '@cpg/core/graphql';
import type { WithdrawalContext } from '../../context';
import type { RequestWithdrawalInput } from '../../services/withdrawals';

export async function requestWithdrawal(_: unknown, args: { input: RequestWithdrawalInput }, ctx: WithdrawalContext) {
  const caller = requireMerchant(ctx.identity, 'WITHDRAWALS_WRITE');
  return ctx.withdrawals.request(caller, args.input);
}
