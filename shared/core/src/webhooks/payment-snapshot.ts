import { z } from 'zod';

/**
 * The payment as a merchant sees it: the body of `payment.snapshot` (see rpcSchemas), which the
 * merchant's webhook dispatcher asks for because `payment.updated` carries identifiers only.
 */
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
