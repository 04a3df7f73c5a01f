import type { PaymentContext } from '../../context';
import { isTokenShaped } from '../../domain/checkout-token';

// Public: the widget reads one payment by its checkout token, so no API key is asked for. A
// wrong token is simply no payment, never an error that would tell tokens apart; one that cannot
// be a token is answered without a database round trip.
export async function checkout(_: unknown, args: { token: string }, ctx: PaymentContext) {
  if (!isTokenShaped(args.token)) return null;
  return ctx.payments.byCheckoutToken(args.token);
}
