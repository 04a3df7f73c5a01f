/**
 * Whether a `withdrawal.batch.ready` the signer received is one this subgraph made and may still
 * be sent, pure. The signer pays exactly what the message says, so every field must equal what is
 * stored: the batch's merchant, network and coin, and its withdrawals as a set (id, destination,
 * amount; none missing, none added, none twice).
 */

export interface StoredBatch {
  merchantId: string;
  networkId: string;
  coinId: string;
  status: string;
}

export interface StoredItem {
  withdrawalId: string;
  toAddress: string;
  amount: bigint;
  status: string;
}

export interface ClaimedBatch {
  merchantId: string;
  network: string;
  coinId: string;
  items: { withdrawalId: string; toAddress: string; amount: string }[];
}

/** A batch the signer may still send: made, or being signed; never once broadcast or ended. */
export const SENDABLE_BATCH_STATUSES: readonly string[] = ['BATCHED', 'SIGNING'];

/** null when the claim is exactly the stored, sendable batch; else the first difference found. */
export function batchMismatch(batch: StoredBatch | null, stored: StoredItem[], claim: ClaimedBatch): string | null {
  if (!batch) return 'no such batch';
  if (batch.merchantId !== claim.merchantId) return 'the batch belongs to another merchant';
  if (batch.networkId !== claim.network) return `the batch is on ${batch.networkId}, not ${claim.network}`;
  if (batch.coinId !== claim.coinId) return `the batch pays ${batch.coinId}, not ${claim.coinId}`;
  if (!SENDABLE_BATCH_STATUSES.includes(batch.status)) return `the batch is ${batch.status}: it may not be sent`;
  const byId = new Map(stored.map((i) => [i.withdrawalId, i]));
  const seen = new Set<string>();
  for (const c of claim.items) {
    if (seen.has(c.withdrawalId)) return `withdrawal ${c.withdrawalId} is listed twice`;
    seen.add(c.withdrawalId);
    const s = byId.get(c.withdrawalId);
    if (!s) return `withdrawal ${c.withdrawalId} is not in the batch`;
    if (!SENDABLE_BATCH_STATUSES.includes(s.status)) return `withdrawal ${c.withdrawalId} is ${s.status}`;
    if (s.toAddress !== c.toAddress) return `withdrawal ${c.withdrawalId} goes to another address`;
    if (s.amount !== BigInt(c.amount)) return `withdrawal ${c.withdrawalId} has another amount`;
  }
  if (seen.size !== byId.size) return `the batch has ${byId.size} withdrawals, the message ${seen.size}`;
  return null;
}
