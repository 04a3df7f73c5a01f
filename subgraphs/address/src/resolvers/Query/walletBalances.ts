import { requireMerchant } from '@cpg/shared/graphql';
import type { AddressContext } from '../../context';

// Nothing of this kind exists until the feature behind it lands: empty, never invented.
export async function walletBalances(_: unknown, _args: { networkId: string }, ctx: AddressContext): Promise<never[]> {
  requireMerchant(ctx.identity, 'READ');
  return [];
}
