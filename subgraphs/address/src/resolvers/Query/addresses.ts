import { requireMerchant } from '@cpg/shared/graphql';
import type { AddressContext } from '../../context';

// Nothing of this kind exists until the feature behind it lands: an empty page, never invented.
export async function addresses(_: unknown, _args: unknown, ctx: AddressContext) {
  requireMerchant(ctx.identity, 'READ');
  return { nodes: [], pageInfo: { hasNextPage: false, endCursor: null } };
}
