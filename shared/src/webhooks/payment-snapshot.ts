import { z } from 'zod';
import type { Bus } from '../bus';
import type { Logger } from '../logger';
import { snapshotRpc } from './snapshot-rpc';

/**
 * Request-reply `payment.snapshot`: the merchant's webhook dispatcher asks the payment subgraph
 * for the payment as a merchant sees it, because `payment.updated` carries identifiers only.
 * Kept here rather than in the bus catalogue so both sides share one schema without touching it.
 */
export const PAYMENT_SNAPSHOT_RPC = 'payment.snapshot';

export const paymentSnapshotRequest = z.object({ paymentId: z.string().uuid(), merchantId: z.string().uuid() });
export type PaymentSnapshotRequest = z.infer<typeof paymentSnapshotRequest>;

const amount = z.string().nullable();
export const paymentSnapshotSchema = z.object({
  object: z.literal('payment'),
  id: z.string().uuid(),
  merchantId: z.string().uuid(),
  orderId: z.string().nullable(),
  description: z.string().nullable(),
  status: z.string(),
  coinId: z.string(),
  networkId: z.string(),
  address: z.string(),
  amount,
  amountReceived: z.string(),
  amountConfirmed: z.string(),
  amountDue: amount,
  priceAmount: amount,
  priceCurrency: z.string().nullable(),
  rate: z.string().nullable(),
  paidLate: z.boolean(),
  metadata: z.unknown(),
  expiresAt: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
  deposits: z.array(
    z.object({
      id: z.string(),
      txHash: z.string(),
      index: z.number().int(),
      amount: z.string(),
      confirmations: z.number().int(),
      status: z.string(),
    }),
  ),
});
export type PaymentSnapshot = z.infer<typeof paymentSnapshotSchema>;

export const paymentSnapshotReply = z.discriminatedUnion('found', [
  z.object({ found: z.literal(true), payment: paymentSnapshotSchema }),
  z.object({ found: z.literal(false) }),
]);
export type PaymentSnapshotReply = z.infer<typeof paymentSnapshotReply>;

const rpc = snapshotRpc(PAYMENT_SNAPSHOT_RPC, paymentSnapshotRequest, paymentSnapshotReply);

/** Payment subgraph side (see snapshotRpc). */
export function servePaymentSnapshots(bus: Bus, log: Logger, handler: (req: PaymentSnapshotRequest) => Promise<PaymentSnapshotReply>) {
  return rpc.serve(bus, log, handler);
}

/** Dispatcher side: throws on timeout, no responder or a failed handler, so the caller retries. */
export function requestPaymentSnapshot(bus: Bus, req: PaymentSnapshotRequest, timeoutMs = 5000): Promise<PaymentSnapshotReply> {
  return rpc.request(bus, req, timeoutMs);
}
