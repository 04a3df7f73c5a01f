import { confirmedUpTo } from './domain/confirmations';
import { matchTransfers, type TransferEvent } from './domain/match';
import type { CursorPosition } from './domain/reorg';
import { WatchList } from './domain/watchlist';
import { type ScanContext, resolveSenders } from './scan-context';

/** How often pending rescans are looked for without a nudge (rows from other instances, crashes). */
const RESCAN_CHECK_MS = 5000;
/** Pending addresses handled per pass. */
const RESCAN_BATCH = 10_000;
/** Blocks committed this long before an address's creation are looked at too (clock skew between services). */
const RESCAN_CLOCK_MARGIN_MS = 60_000;

/**
 * Addresses reach the tracker through address.created, a moment after they exist: a customer
 * paying at once may be paid in a block the loop committed before it knew the address. For
 * each address not yet looked for, the blocks committed since its creation (less a margin for
 * clocks) up to the cursor are fetched again and matched against those addresses only. Found
 * transfers get the same event ids as the normal path and are written only when their
 * block_transfers row is new, so a transfer both paths saw is reported once; the pending rows
 * go in the same transaction, so a crash repeats the rescan, never its effects.
 */
export class NewAddressRescan {
  /** Set when an address was added: the next pass looks for it in the blocks already committed. */
  private due = true;
  private lastCheck = 0;

  constructor(private readonly ctx: ScanContext) {}

  /** Called after an address.created was stored (pending_rescans row written). Idempotent. */
  notice(): void {
    this.due = true;
  }

  /**
   * Called at the start of every pass of the loop, with its cursor. Rescans when an address was
   * noticed, or when the periodic check comes round (rows written by another instance's consumer,
   * or left by a crash). `running` turns false when the loop must stop or lost its lease.
   * Idempotent: done rows are deleted with the effects they caused.
   */
  async runIfDue(cursor: CursorPosition, running: () => boolean): Promise<void> {
    if (!this.due && Date.now() - this.lastCheck < RESCAN_CHECK_MS) return;
    this.due = false;
    this.lastCheck = Date.now();
    await this.rescan(cursor, running);
  }

  private async rescan(cursor: CursorPosition, running: () => boolean): Promise<void> {
    const { network, watcher, watch, store, log } = this.ctx;
    const pending = await store.pendingRescans(RESCAN_BATCH);
    if (!pending.length) return;
    if (pending.length === RESCAN_BATCH) this.due = true;
    const list = new WatchList(network);
    let earliest = Infinity;
    for (const r of pending) {
      list.add(r.address, { addressId: r.address_id, merchantId: r.merchant_id, type: r.type });
      // Another instance's consumer may have stored it: from here on this loop matches it too,
      // whatever the watch registry's refresh has picked up yet.
      watch.add(r.address, { addressId: r.address_id, merchantId: r.merchant_id, type: r.type });
      earliest = Math.min(earliest, new Date(r.address_created_at).getTime());
    }
    const since = new Date(earliest - RESCAN_CLOCK_MARGIN_MS);
    const blocks = await store.blocksScannedSince(since, cursor.height);
    const events: TransferEvent[] = [];
    const started = Date.now();
    for (const [i, stored] of blocks.entries()) {
      if (!running()) return;
      const block = await watcher.getBlockTransfers(stored.height);
      // The chain moved under the stored block: the main loop's reorg handling goes first.
      if (block.hash.toLowerCase() !== stored.hash.toLowerCase()) return;
      events.push(...(await resolveSenders(this.ctx, matchTransfers(network, list, block.transfers, cursor.height, watch))));
      if ((i + 1) % 100 === 0) log.info({ rescanned: i + 1, of: blocks.length, addresses: pending.length }, 'rescanning blocks for new addresses');
    }
    let written = 0;
    await store.transaction(async (tx) => {
      await tx.lockCursorAt(cursor);
      for (const e of events) {
        const confirmed = e.blockHeight! <= confirmedUpTo(cursor.height, network.confirmations);
        if (!(await tx.keepRescannedTransfer(e, confirmed))) continue;
        written++;
        await tx.emit('seen', e, e.blockHash);
        if (confirmed) await tx.emit('confirmed', e, e.blockHash);
      }
      await tx.deletePendingRescans(pending.map((r) => r.address_id));
    });
    if (written || blocks.length > 10)
      log.info({ addresses: pending.length, blocks: blocks.length, found: written, ms: Date.now() - started }, 'rescanned committed blocks for new addresses');
    if (written) this.ctx.relay.kick();
  }
}
