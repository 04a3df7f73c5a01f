import { requireMerchant } from '@cpg/core/graphql';
import type { PaymentContext } from '../../context';

export async function payment(_: unknown, args: { id: string }, ctx: PaymentContext) {
  if (ctx.identity.kind !== 'operator') requireMerchant(ctx.identity, 'READ');
  return ctx.payments.findVisible(ctx.identity, args.id);
}
