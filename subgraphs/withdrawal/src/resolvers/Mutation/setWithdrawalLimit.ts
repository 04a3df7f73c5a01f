import { requireMerchant, unavailable } from '@cpg/shared/graphql';
import type { WithdrawalContext } from '../../context';

// Refused plainly until the feature lands, rather than accepted and never carried out.
export async function setWithdrawalLimit(_: unknown, _args: unknown, ctx: WithdrawalContext): Promise<never> {
  requireMerchant(ctx.identity, 'SETTINGS_WRITE');
  throw unavailable('withdrawal limits are not available in this version yet');
}
