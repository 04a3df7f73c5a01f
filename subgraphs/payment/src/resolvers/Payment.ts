import { codecFor } from '@cpg/chains/codecs';
import { formatAmount } from '@cpg/core/money';
import type { PaymentContext } from '../context';
import type { PaymentResolvers } from '../generated/resolvers-types';
import type { PaymentRow } from '../services/payment-store';
import { fmt } from '../services/rows';
import { isOwner, privateField } from './projection';

function decimals(p: PaymentRow, ctx: PaymentContext): number {
  const entry = ctx.payments.coin(p.coin_id);
  if (!entry) throw new Error(`coin ${p.coin_id} is no longer configured`);
  return entry.coin.decimals;
}

/** A non-null amount column of the payment, in its coin's whole units. */
const amountOf = (units: string, p: PaymentRow, ctx: PaymentContext): string => formatAmount(BigInt(units), decimals(p, ctx));

export const Payment: PaymentResolvers = {
  /** Federation entry: merchants resolve only their own payments, the operator any. */
  __resolveReference: (ref, ctx) => ctx.payments.findVisible(ctx.identity, ref.id),
  id: (p) => p.id,
  // A checkout reader gets the merchant's public face (its name) under a sealed key, never its id.
  merchant: (p, _, ctx) => ({ id: isOwner(p, ctx) ? p.merchant_id : ctx.refs.seal('Merchant', p.merchant_id) }),
  orderId: (p, _, ctx) => privateField(p, ctx, 'Payment.orderId', () => p.order_id),
  description: (p) => p.description,
  coin: (p) => ({ id: p.coin_id }),
  address: (p, _, ctx) => ({ id: isOwner(p, ctx) ? p.address_id : ctx.refs.seal('Address', p.address_id) }),
  amount: (p, _, ctx) => fmt(p.amount, decimals(p, ctx)),
  priceAmount: (p) => p.price_amount,
  priceCurrency: (p) => p.price_currency,
  rate: (p) => p.rate,
  amountReceived: (p, _, ctx) => amountOf(p.amount_received, p, ctx),
  amountConfirmed: (p, _, ctx) => amountOf(p.amount_confirmed, p, ctx),
  amountDue: (p, _, ctx) => fmt(p.amount_due, decimals(p, ctx)),
  status: (p) => p.status,
  paidLate: (p) => p.paid_late,
  expiresAt: (p) => p.expires_at,
  createdAt: (p) => p.created_at,
  updatedAt: (p) => p.updated_at,
  deposits: (p, _, ctx) => ctx.payments.deposits(p.id),
  // What is still missing once something arrived, so a wallet scanning the QR pays the rest.
  paymentUri: (p, _, ctx) => {
    const entry = ctx.payments.coin(p.coin_id);
    if (!entry) throw new Error(`coin ${p.coin_id} is no longer configured`);
    const due = p.amount_due !== null && BigInt(p.amount_due) > 0n ? BigInt(p.amount_due) : p.amount !== null ? BigInt(p.amount) : undefined;
    return codecFor(entry.network.family).paymentUri(entry.network, { address: p.address, coin: entry.coin, ...(due !== undefined ? { amount: due } : {}) });
  },
  checkoutUrl: (p, _, ctx) => ctx.payments.checkoutUrl(p),
  metadata: (p, _, ctx) => privateField(p, ctx, 'Payment.metadata', () => p.metadata ?? null),
};
