import { type CursorPosition, findCommonAncestor } from './domain/reorg';
import type { ScanContext } from './scan-context';

export type ReorgOutcome =
  /** The cursor now sits on the common ancestor; the next pass scans the replacement blocks. */
  | { kind: 'moved'; cursor: CursorPosition }
  /** Deeper than the network allows: nothing was changed and the loop must wait for an operator. */
  | { kind: 'too-deep'; reason: string };

/**
 * Called by the loop when the block after the cursor does not build on what we committed (or the
 * block under the cursor left the chain): walks back to the common ancestor, reports every
 * transfer of the orphaned blocks as reorged, and moves the cursor there in one transaction; the
 * next pass scans the replacement blocks, whose transfers are seen anew. Throws CursorMovedError
 * when another instance moved the cursor meanwhile. Idempotent: a repeat after a crash walks
 * back from the stored cursor and writes the same event ids.
 */
export async function walkBackReorg(ctx: ScanContext, cursor: CursorPosition, newHash: string | null): Promise<ReorgOutcome> {
  const { network, watcher, store, log } = ctx;
  const walk = await findCommonAncestor(
    cursor.height,
    network.maxReorgDepth || 50,
    async (h) => (h === cursor.height ? cursor.hash : store.storedHashAt(h)),
    async (h) => (await watcher.getBlockRef(h))?.hash ?? null,
  );
  if (walk.kind === 'too-deep') {
    log.error(
      { cursor: cursor.height, checkedDown: walk.checkedDown },
      'reorg deeper than the configured maximum: the loop stops here until an operator looks',
    );
    return { kind: 'too-deep', reason: `reorg deeper than ${network.maxReorgDepth} blocks below ${cursor.height}` };
  }
  const ancestor = walk.height;
  const ancestorHash = ancestor >= 0 ? ((await watcher.getBlockRef(ancestor))?.hash ?? null) : null;
  let reorged = 0;
  await store.transaction(async (tx) => {
    await tx.moveCursor(cursor, { height: ancestor, hash: ancestorHash });
    const gone = await tx.dropTransfersAbove(ancestor);
    for (const data of gone) {
      const e = { ...data, confirmations: 0 };
      await tx.emit('reorged', e, e.blockHash);
    }
    reorged = gone.length;
    await tx.dropBlocksAbove(ancestor);
  });
  log.warn({ from: cursor.height, ancestor, depth: cursor.height - ancestor, newHash, reorged }, 'reorg: walked back to the common ancestor');
  if (reorged) ctx.relay.kick();
  return { kind: 'moved', cursor: { height: ancestor, hash: ancestorHash } };
}
