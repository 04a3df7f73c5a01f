import { requireMerchant } from '@cpg/shared/graphql';
import type { WithdrawalContext } from '../../context';

// Nothing of this kind exists until the feature behind it lands: empty, never invented.
export async function withdrawalLimits(_: unknown, _args: unknown, ctx: WithdrawalContext): Promise<never[]> {
  requireMerchant(ctx.identity, 'READ');
  return [];
}
