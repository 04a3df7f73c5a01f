import { requireMerchant } from '@cpg/shared/graphql';
import type { ComplianceContext } from '../../context';

// Nothing of this kind exists until the feature behind it lands: an empty page, never invented.
export async function alerts(_: unknown, _args: unknown, ctx: ComplianceContext) {
  requireMerchant(ctx.identity, 'READ');
  return { nodes: [], pageInfo: { hasNextPage: false, endCursor: null } };
}
