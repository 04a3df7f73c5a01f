import { requireMerchant } from '@cpg/shared/graphql';
import type { ComplianceContext } from '../../context';

// Nothing of this kind exists until the feature behind it lands: empty, never invented.
export async function greyList(_: unknown, _args: unknown, ctx: ComplianceContext): Promise<never[]> {
  requireMerchant(ctx.identity, 'READ');
  return [];
}
