import { requireMerchant, unavailable } from '@cpg/shared/graphql';
import type { PaymentContext } from '../../context';

// Refused plainly until the feature lands, rather than accepted and never carried out.
export async function createPayment(_: unknown, _args: unknown, ctx: PaymentContext): Promise<never> {
  requireMerchant(ctx.identity, 'PAYMENTS_WRITE');
  throw unavailable('payments are not available in this version yet');
}
