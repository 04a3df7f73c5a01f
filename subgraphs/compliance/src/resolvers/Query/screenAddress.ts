import { requireMerchant, unavailable } from '@cpg/shared/graphql';
import type { ComplianceContext } from '../../context';

// Screening needs the KYT rules and lists, which arrive with compliance.
export async function screenAddress(_: unknown, _args: { networkId: string; address: string }, ctx: ComplianceContext): Promise<never> {
  requireMerchant(ctx.identity, 'READ');
  throw unavailable('address screening is not available in this version yet');
}
