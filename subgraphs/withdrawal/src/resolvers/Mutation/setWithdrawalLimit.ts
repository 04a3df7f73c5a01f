import { requireMerchant } from '@cpg/core/graphql';
import type { WithdrawalContext } from '../../context';
import type { SetLimitInput } from '../../services/withdrawals';

/** The merchant's own limits per coin (a key with SETTINGS_WRITE). */
export async function setWithdrawalLimit(_: unknown, args: { input: SetLimitInput }, ctx: WithdrawalContext) {
  const caller = requireMerchant(ctx.identity, 'SETTINGS_WRITE');
  return ctx.withdrawals.setLimit(caller, args.input);
}
