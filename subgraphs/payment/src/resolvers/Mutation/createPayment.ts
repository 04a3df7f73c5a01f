import { requireMerchant } from '@cpg/core/graphql';
import type { PaymentContext } from '../../context';
import type { CreatePaymentInput } from '../../services/payments';

export async function createPayment(_: unknown, args: { input: CreatePaymentInput }, ctx: PaymentContext) {
  const caller = requireMerchant(ctx.identity, 'PAYMENTS_WRITE');
  return ctx.payments.create(caller, args.input);
}
