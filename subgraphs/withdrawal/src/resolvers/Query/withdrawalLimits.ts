import { requireMerchant } from '@cpg/core/graphql';
import type { WithdrawalContext } from '../../context';

export async function withdrawalLimits(_: unknown, _args: unknown, ctx: WithdrawalContext) {
  const caller = requireMerchant(ctx.identity, 'READ');
  return ctx.withdrawals.limits(caller.merchantId);
}
