/**
 * Depth of a block seen from `scannedHeight` (the last block the loop verified): 1 in that block
 * itself. The scanned height, not the node's tip, is the reference, so a transfer is never
 * confirmed by blocks whose continuity the loop has not checked yet.
 */
export function depthOf(scannedHeight: number, blockHeight: number): number {
  return Math.max(0, scannedHeight - blockHeight + 1);
}

/** Whether a transfer in `blockHeight` has reached the network's required confirmations. */
export function isConfirmed(scannedHeight: number, blockHeight: number, required: number): boolean {
  return depthOf(scannedHeight, blockHeight) >= Math.max(1, required);
}

/** The highest block height whose transfers are confirmed at `scannedHeight`. */
export function confirmedUpTo(scannedHeight: number, required: number): number {
  return scannedHeight - Math.max(1, required) + 1;
}
