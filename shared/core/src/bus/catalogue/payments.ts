import { z } from 'zod';
import { changeNotice } from './common';

export const PAYMENT_STATUSES = ['PENDING', 'PARTIALLY_PAID', 'CONFIRMING', 'PAID', 'OVERPAID', 'EXPIRED', 'ON_HOLD', 'CANCELLED'] as const;
export type PaymentStatus = (typeof PAYMENT_STATUSES)[number];

export const PAYMENT_EVENTS = [
  'created',
  'deposit_seen',
  'partially_paid',
  'confirming',
  'paid',
  'overpaid',
  'expired',
  'paid_late',
  'deposit_reorged',
  'on_hold',
  'cancelled',
] as const;
export type PaymentEventName = (typeof PAYMENT_EVENTS)[number];

export const paymentEvents = {
  /**
   * A payment changed (status, amounts, deposits). Subject `payment.updated.<paymentId>`: the
   * gateway maps `paymentUpdated(id)` subscriptions onto it and re-reads the payment through the
   * supergraph, so the event carries identifiers, not a snapshot.
   */
  'payment.updated': z.object({
    paymentId: z.string().uuid(),
    merchantId: z.string().uuid(),
    /** sha256 of the checkout token, hex: lets the gateway serve `paymentUpdated(checkoutToken)`. */
    checkoutTokenHash: z.string(),
    /** One of PAYMENT_EVENTS / PAYMENT_STATUSES from the payment subgraph. */
    ...changeNotice,
    /**
     * The payment's version after this change (1, 2, ... per payment; `Payment.version` in the
     * API): a larger one is a newer state. Absent in events from before versions.
     */
    version: z.number().int().positive().optional(),
  }),
} as const;
