import { requireMerchant, unavailable } from '@cpg/shared/graphql';
import type { WithdrawalContext } from '../../context';

// Refused plainly until the feature lands, rather than accepted and never carried out.
export async function requestWithdrawal(_: unknown, _args: unknown, ctx: WithdrawalContext): Promise<never> {
  requireMerchant(ctx.identity, 'WITHDRAWALS_WRITE');
  throw unavailable('withdrawals are not available in this version yet');
}
