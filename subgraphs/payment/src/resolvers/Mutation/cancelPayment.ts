import { requireMerchant } from '@cpg/core/graphql';
import type { PaymentContext } from '../../context';

export async function cancelPayment(_: unknown, args: { id: string }, ctx: PaymentContext) {
  const caller = requireMerchant(ctx.identity, 'PAYMENTS_WRITE');
  return ctx.payments.cancel(caller, args.id);
}
