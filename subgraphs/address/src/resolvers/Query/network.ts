import { requireMerchant } from '@cpg/shared/graphql';
import type { AddressContext } from '../../context';

// No rows exist until the feature behind it lands.
export async function network(_: unknown, _args: { id: string }, ctx: AddressContext): Promise<null> {
  requireMerchant(ctx.identity, 'READ');
  return null;
}
