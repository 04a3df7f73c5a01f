import { requireMerchant } from '@cpg/shared/graphql';
import type { PaymentContext } from '../../context';

// No rows exist until the feature behind it lands.
export async function payment(_: unknown, _args: { id: string }, ctx: PaymentContext): Promise<null> {
  requireMerchant(ctx.identity, 'READ');
  return null;
}
