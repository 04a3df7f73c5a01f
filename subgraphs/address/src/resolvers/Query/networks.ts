import { requireMerchant } from '@cpg/shared/graphql';
import type { AddressContext } from '../../context';

// Networks come from the chain configuration, which arrives with chain support; until then there are none.
export async function networks(_: unknown, _args: unknown, ctx: AddressContext): Promise<never[]> {
  requireMerchant(ctx.identity, 'READ');
  return [];
}
