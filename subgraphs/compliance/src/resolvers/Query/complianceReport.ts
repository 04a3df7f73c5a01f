import { requireMerchant, unavailable } from '@cpg/shared/graphql';
import type { ComplianceContext } from '../../context';

// Reports are built from screenings, which arrive with compliance.
export async function complianceReport(_: unknown, _args: { from: Date; to: Date; format: string }, ctx: ComplianceContext): Promise<never> {
  requireMerchant(ctx.identity, 'READ');
  throw unavailable('compliance reports are not available in this version yet');
}
