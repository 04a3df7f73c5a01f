import { requireMerchant } from '@cpg/shared/graphql';
import type { WithdrawalContext } from '../../context';

// Nothing of this kind exists until the feature behind it lands: an empty page, never invented.
export async function withdrawals(_: unknown, _args: unknown, ctx: WithdrawalContext) {
  requireMerchant(ctx.identity, 'READ');
  return { nodes: [], pageInfo: { hasNextPage: false, endCursor: null } };
}
