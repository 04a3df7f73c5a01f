import { requireMerchant } from '@cpg/core/graphql';
import type { PaymentContext } from '../../context';
import type { PaymentFilter } from '../../services/payments';

/** Merchants list their own payments, newest first; the operator lists everyone's. */
export async function payments(_: unknown, args: { filter?: PaymentFilter | null; first?: number | null; after?: string | null }, ctx: PaymentContext) {
  const merchantId = ctx.identity.kind === 'operator' ? null : requireMerchant(ctx.identity, 'READ').merchantId;
  return ctx.payments.list(merchantId, args.filter, args.first, args.after);
}
