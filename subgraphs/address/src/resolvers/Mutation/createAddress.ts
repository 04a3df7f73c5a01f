import { requireMerchant, unavailable } from '@cpg/shared/graphql';
import type { AddressContext } from '../../context';

// Refused plainly until the feature lands, rather than accepted and never carried out.
export async function createAddress(_: unknown, _args: unknown, ctx: AddressContext): Promise<never> {
  requireMerchant(ctx.identity, 'ADDRESSES_WRITE');
  throw unavailable('address creation is not available in this version yet');
}
