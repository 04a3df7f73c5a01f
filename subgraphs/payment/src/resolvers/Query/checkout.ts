import type { PaymentContext } from '../../context';

// Public: the widget reads one payment by its checkout token, so no API key is asked for. No
// payment, hence no token, exists before payments arrive.
export async function checkout(_: unknown, _args: { token: string }, _ctx: PaymentContext): Promise<null> {
  return null;
}
