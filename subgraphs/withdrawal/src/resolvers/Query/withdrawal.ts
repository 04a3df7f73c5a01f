import { requireMerchant } from '@cpg/shared/graphql';
import type { WithdrawalContext } from '../../context';

// No rows exist until the feature behind it lands.
export async function withdrawal(_: unknown, _args: { id: string }, ctx: WithdrawalContext): Promise<null> {
  requireMerchant(ctx.identity, 'READ');
  return null;
}
