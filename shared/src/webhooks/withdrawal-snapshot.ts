import { z } from 'zod';
import type { Bus } from '../bus';
import type { Logger } from '../logger';
import { snapshotRpc } from './snapshot-rpc';

/** Request-reply `withdrawal.snapshot`: the withdrawal as the API shows it, for webhook bodies. */
export const WITHDRAWAL_SNAPSHOT_RPC = 'withdrawal.snapshot';

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

const rpc = snapshotRpc(WITHDRAWAL_SNAPSHOT_RPC, withdrawalSnapshotRequest, withdrawalSnapshotReply);

/** Withdrawal subgraph side (see snapshotRpc). */
export function serveWithdrawalSnapshots(bus: Bus, log: Logger, handler: (req: WithdrawalSnapshotRequest) => Promise<WithdrawalSnapshotReply>) {
  return rpc.serve(bus, log, handler);
}

/** Dispatcher side: throws on timeout, no responder or a failed handler, so the caller retries. */
export function requestWithdrawalSnapshot(bus: Bus, req: WithdrawalSnapshotRequest, timeoutMs = 5000): Promise<WithdrawalSnapshotReply> {
  return rpc.request(bus, req, timeoutMs);
}
