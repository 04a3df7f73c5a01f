import { z } from 'zod';

/** The withdrawal as the API shows it: the body of `withdrawal.snapshot` (see rpcSchemas), for webhook bodies. */
export const withdrawalSnapshotRequest = z.object({ withdrawalId: z.string().uuid(), merchantId: z.string().uuid() });
export type WithdrawalSnapshotRequest = z.infer<typeof withdrawalSnapshotRequest>;

export const withdrawalSnapshotSchema = z.object({
  object: z.literal('withdrawal'),
  id: z.string().uuid(),
  merchantId: z.string().uuid(),
  idempotencyKey: z.string(),
  status: z.string(),
  coinId: z.string(),
  networkId: z.string(),
  toAddress: z.string(),
  amount: z.string(),
  fee: z.string().nullable(),
  feeCoinId: z.string().nullable(),
  txHash: z.string().nullable(),
  batchId: z.string().nullable(),
  paymentId: z.string().nullable(),
  failureReason: z.string().nullable(),
  waitingReason: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type WithdrawalSnapshot = z.infer<typeof withdrawalSnapshotSchema>;

export const withdrawalSnapshotReply = z.discriminatedUnion('found', [
  z.object({ found: z.literal(true), withdrawal: withdrawalSnapshotSchema }),
  z.object({ found: z.literal(false) }),
]);
export type WithdrawalSnapshotReply = z.infer<typeof withdrawalSnapshotReply>;
