import { requireMerchant } from '@cpg/shared/graphql';
import type { PaymentContext } from '../../context';

// Nothing of this kind exists until the feature behind it lands: an empty page, never invented.
export async function payments(_: unknown, _args: unknown, ctx: PaymentContext) {
  requireMerchant(ctx.identity, 'READ');
  return { nodes: [], pageInfo: { hasNextPage: false, endCursor: null } };
}
