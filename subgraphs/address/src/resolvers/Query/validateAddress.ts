import { requireMerchant, unavailable } from '@cpg/shared/graphql';
import type { AddressContext } from '../../context';

// Validation needs the chain codecs, which arrive with chain support.
export async function validateAddress(_: unknown, _args: { networkId: string; address: string }, ctx: AddressContext): Promise<never> {
  requireMerchant(ctx.identity, 'READ');
  throw unavailable('address validation is not available in this version yet');
}
