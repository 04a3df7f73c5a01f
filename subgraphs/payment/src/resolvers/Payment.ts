import { codecFor } from '@cpg/chains/codecs';
import type { PaymentContext } from '../context';
import { type PaymentRow, fmt } from '../services/rows';
import { isOwner, privateField } from './projection';

function decimals(p: PaymentRow, ctx: PaymentContext): number {
  const entry = ctx.payments.coin(p.coin_id);
  if (!entry) throw new Error(`coin ${p.coin_id} is no longer configured`);
  return entry.coin.decimals;
}

export const Payment = {
  /** Federation entry: merchants resolve only their own payments, the operator any. */
  __resolveReference: (ref: { id: string }, ctx: PaymentContext) => ctx.payments.findVisible(ctx.identity, ref.id),
  id: (p: PaymentRow) => p.id,
  // A checkout reader gets the merchant's public face (its name) under a sealed key, never its id.
  merchant: (p: PaymentRow, _: unknown, ctx: PaymentContext) => ({ id: isOwner(p, ctx) ? p.merchant_id : ctx.refs.seal('Merchant', p.merchant_id) }),
  orderId: (p: PaymentRow, _: unknown, ctx: PaymentContext) => privateField(p, ctx, 'Payment.orderId', () => p.order_id),
  description: (p: PaymentRow) => p.description,
  coin: (p: PaymentRow) => ({ id: p.coin_id }),
  address: (p: PaymentRow, _: unknown, ctx: PaymentContext) => ({ id: isOwner(p, ctx) ? p.address_id : ctx.refs.seal('Address', p.address_id) }),
  amount: (p: PaymentRow, _: unknown, ctx: PaymentContext) => fmt(p.amount, decimals(p, ctx)),
  priceAmount: (p: PaymentRow) => p.price_amount,
  priceCurrency: (p: PaymentRow) => p.price_currency,
  rate: (p: PaymentRow) => p.rate,
  amountReceived: (p: PaymentRow, _: unknown, ctx: PaymentContext) => fmt(p.amount_received, decimals(p, ctx)),
  amountConfirmed: (p: PaymentRow, _: unknown, ctx: PaymentContext) => fmt(p.amount_confirmed, decimals(p, ctx)),
  amountDue: (p: PaymentRow, _: unknown, ctx: PaymentContext) => fmt(p.amount_due, decimals(p, ctx)),
  status: (p: PaymentRow) => p.status,
  paidLate: (p: PaymentRow) => p.paid_late,
  expiresAt: (p: PaymentRow) => p.expires_at,
  createdAt: (p: PaymentRow) => p.created_at,
  updatedAt: (p: PaymentRow) => p.updated_at,
  deposits: (p: PaymentRow, _: unknown, ctx: PaymentContext) => ctx.payments.deposits(p.id),
  // What is still missing once something arrived, so a wallet scanning the QR pays the rest.
  paymentUri: (p: PaymentRow, _: unknown, ctx: PaymentContext) => {
    const entry = ctx.payments.coin(p.coin_id);
    if (!entry) throw new Error(`coin ${p.coin_id} is no longer configured`);
    const due = p.amount_due !== null && BigInt(p.amount_due) > 0n ? BigInt(p.amount_due) : p.amount !== null ? BigInt(p.amount) : undefined;
    return codecFor(entry.network.family).paymentUri(entry.network, { address: p.address, coin: entry.coin, ...(due !== undefined ? { amount: due } : {}) });
  },
  checkoutUrl: (p: PaymentRow, _: unknown, ctx: PaymentContext) => ctx.payments.checkoutUrl(p),
  metadata: (p: PaymentRow, _: unknown, ctx: PaymentContext) => privateField(p, ctx, 'Payment.metadata', () => p.metadata ?? null),
};
