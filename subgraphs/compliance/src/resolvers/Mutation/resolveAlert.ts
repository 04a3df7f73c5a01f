import { requireMerchant, unavailable } from '@cpg/shared/graphql';
import type { ComplianceContext } from '../../context';

// Refused plainly until the feature lands, rather than accepted and never carried out.
export async function resolveAlert(_: unknown, _args: unknown, ctx: ComplianceContext): Promise<never> {
  requireMerchant(ctx.identity, 'SETTINGS_WRITE');
  throw unavailable('compliance alerts are not available in this version yet');
}
