import type { NetworkFamily } from '@cpg/chains';

export type AggregationMode = 'NONE' | 'BATCH';

export interface AggregationSettings {
  mode: AggregationMode;
  maxSize: number;
  maxWaitSeconds: number;
}

/** The merchant subgraph's defaults, for a merchant whose settings event has not arrived yet. */
export const DEFAULT_AGGREGATION: AggregationSettings = { mode: 'NONE', maxSize: 50, maxWaitSeconds: 600 };

/** Most payouts the signer puts in one EVM BatchTransfer transaction (its EvmSigner refuses more). */
export const EVM_MAX_BATCH = 200;

/**
 * The aggregation that applies on a network family, within what the signer can send as one
 * transaction. A Tron transaction carries one transfer (the signer refuses a Tron batch of more),
 * so Tron withdrawals always go one by one, at once, as under NONE: holding them could save
 * nothing. An EVM batch holds at most EVM_MAX_BATCH payouts, whatever batchMaxSize (up to 1000)
 * the merchant chose. A Bitcoin-family transaction takes 1000 outputs within standard size.
 */
export function aggregationForFamily(s: AggregationSettings, family: NetworkFamily | undefined): AggregationSettings {
  if (family === 'TRON') return { ...s, mode: 'NONE' };
  if (family === 'EVM' && s.maxSize > EVM_MAX_BATCH) return { ...s, maxSize: EVM_MAX_BATCH };
  return s;
}

export interface QueuedGroup {
  /** Queued withdrawals of one merchant, network and coin, oldest first. */
  count: number;
  oldestQueuedAt: Date;
}

/**
 * Whether a group of queued withdrawals becomes a batch now, and how many of them: NONE sends
 * each alone at once; BATCH cuts when batchMaxSize are waiting or the oldest has waited
 * batchMaxWaitSeconds, whichever comes first, taking at most batchMaxSize.
 */
export function cutBatch(s: AggregationSettings, g: QueuedGroup, now: Date): number {
  if (g.count < 1) return 0;
  if (s.mode === 'NONE') return 1;
  const size = Math.max(1, s.maxSize);
  if (g.count >= size) return size;
  if (now.getTime() - g.oldestQueuedAt.getTime() >= s.maxWaitSeconds * 1000) return g.count;
  return 0;
}

/**
 * Fee policy: the batch's network fee (in the network's native coin) is split evenly over its
 * withdrawals, the indivisible remainder on the first (oldest); the shares always sum to the fee.
 */
export function splitFee(fee: bigint, n: number): bigint[] {
  if (n < 1) return [];
  if (fee < 0n) throw new RangeError('fee must not be negative');
  const each = fee / BigInt(n);
  const rest = fee - each * BigInt(n);
  return Array.from({ length: n }, (_, i) => (i === 0 ? each + rest : each));
}
