import { deterministicId } from '@cpg/core/db';

export type TransferEventKind = 'seen' | 'confirmed' | 'reorged';

/**
 * One message id per (network, txHash, index, coin, kind, blockHash): the coin is part of it
 * because an EVM transaction's native value (index 0) and a token log at block log index 0 are
 * two transfers with the same index. Re-emitting after a crash gives
 * the same id, dropped by the outbox insert and by JetStream; the same transfer in a replacement
 * block gets a new id and is therefore reported anew. Mempool sightings use "mempool".
 */
export function transferEventId(network: string, txHash: string, index: number, coinId: string, kind: TransferEventKind, blockHash: string | null): string {
  return deterministicId(`${network}:${txHash}:${index}:${coinId}:${kind}:${blockHash ?? 'mempool'}`);
}
