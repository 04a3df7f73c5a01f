/** What the loop keeps of the last block it committed. */
export interface CursorPosition {
  height: number;
  /** Null before the first block (nothing to compare the parent with). */
  hash: string | null;
}

/**
 * Whether the block at cursor + 1 extends what we scanned. A mismatch means the block we
 * committed at the cursor is no longer on the node's best chain.
 */
export function extendsCursor(cursor: CursorPosition, next: { height: number; parentHash: string }): boolean {
  if (next.height !== cursor.height + 1) throw new Error(`block ${next.height} does not follow cursor ${cursor.height}`);
  return cursor.hash === null || next.parentHash.toLowerCase() === cursor.hash.toLowerCase();
}

export type WalkBack = { kind: 'ancestor'; height: number } | { kind: 'too-deep'; checkedDown: number };

/**
 * Walks back from `fromHeight` comparing the hash we stored with the chain's hash at each height,
 * and returns the highest height where they agree (the common ancestor). Heights we hold no hash
 * for (pruned, or before the first scanned block) count as agreeing: they were final when
 * pruned. Stops after `maxDepth` heights: a deeper reorg needs an operator, not a guess.
 */
export async function findCommonAncestor(
  fromHeight: number,
  maxDepth: number,
  storedHashAt: (height: number) => Promise<string | null | undefined>,
  chainHashAt: (height: number) => Promise<string | null>,
): Promise<WalkBack> {
  const lowest = fromHeight - maxDepth;
  for (let h = fromHeight; h >= Math.max(lowest, -1); h--) {
    if (h < 0) return { kind: 'ancestor', height: -1 };
    const stored = await storedHashAt(h);
    if (stored === null || stored === undefined) return { kind: 'ancestor', height: h };
    const onChain = await chainHashAt(h);
    if (onChain !== null && onChain.toLowerCase() === stored.toLowerCase()) return { kind: 'ancestor', height: h };
  }
  return { kind: 'too-deep', checkedDown: lowest };
}
