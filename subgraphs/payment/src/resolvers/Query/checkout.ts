import type { QueryResolvers } from '../../generated/resolvers-types';
import { isTokenShaped } from '../../domain/checkout-token';

// Public: the widget reads one payment by its checkout token, so no API key is asked for. A
// wrong token is simply no payment, never an error that would tell tokens apart; one that cannot
// be a token is answered without a database round trip.
export const checkout: QueryResolvers['checkout'] = async (_, args, ctx) => {
  if (!isTokenShaped(args.token)) return null;
  return ctx.payments.byCheckoutToken(args.token);
};
