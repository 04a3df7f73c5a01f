import type { ChainWatcher } from '@cpg/chains';
import { matchTransfers, type TransferEvent } from './domain/match';
import { type ScanContext, resolveSenders } from './scan-context';

type TxStatus = Awaited<ReturnType<ChainWatcher['getTransactionStatus']>>;

const keyOf = (e: TransferEvent) => `${e.txHash}:${e.index}:${e.coinId}`;

/**
 * Unconfirmed transfers (Bitcoin family) are reported once each while they wait. One that
 * leaves the mempool without reaching a scanned block is asked about: if the node says it was
 * dropped (evicted, replaced by fee bump or double spend), it is reported reorged, so a
 * payment shown as "seen" does not wait forever. The reported ones are stored with their
 * events, so after a restart one dropped meanwhile is still found and reported.
 */
export class MempoolScan {
  /** Mempool transfers already reported, by txHash:index:coinId, until they leave the mempool for good. */
  private readonly emitted = new Map<string, TransferEvent>();
  /** Whether `emitted` holds the stored rows (read once per activation). */
  private loaded = false;

  constructor(private readonly ctx: ScanContext) {}

  /** Called when the lease is lost: the next holder owns the bookkeeping; ours is read again if the lease comes back. Idempotent. */
  reset(): void {
    this.emitted.clear();
    this.loaded = false;
  }

  /**
   * Called by the loop on each pass at the tip. `scannedHeight` reads the loop's cursor height
   * (null once the lease is lost): a transfer mined at or below it is tracked by block from then
   * on. Idempotent: each sighting and each drop is written once, with fixed event ids.
   */
  async scan(scannedHeight: () => number | null): Promise<void> {
    const { network, watch, watcher, store } = this.ctx;
    if (!this.loaded) {
      for (const e of await store.mempoolTransfers()) this.emitted.set(keyOf(e), e);
      this.loaded = true;
    }
    const transfers = await watcher.getMempoolTransfers();
    const current = new Set<string>();
    const fresh: TransferEvent[] = [];
    for (const e of matchTransfers(network, watch, transfers, null)) {
      const key = keyOf(e);
      current.add(key);
      if (!this.emitted.has(key)) fresh.push(e);
    }
    // Only new sightings cost a sender lookup; the rest were resolved when first reported.
    await resolveSenders(this.ctx, fresh);
    const left: TransferEvent[] = [];
    for (const [k, e] of this.emitted) if (!current.has(k)) left.push(e);
    const { dropped, mined } = await this.droppedFromMempool(left, scannedHeight);
    if (mined.length) {
      await store.transaction(async (tx) => {
        for (const e of mined) await tx.forgetMempoolTransfer(e);
      });
      for (const e of mined) this.emitted.delete(keyOf(e));
    }
    if (!fresh.length && !dropped.length) return;
    await store.transaction(async (tx) => {
      for (const e of fresh) {
        await tx.emit('seen', e, null);
        await tx.rememberMempoolTransfer(e);
      }
      for (const e of dropped) {
        await tx.emit('reorged', e, null);
        await tx.forgetMempoolTransfer(e);
      }
    });
    for (const e of fresh) this.emitted.set(keyOf(e), e);
    for (const e of dropped) this.emitted.delete(keyOf(e));
    this.ctx.relay.kick();
  }

  /**
   * Of the transfers that left the mempool, those the node reports dropped. Mined ones are
   * forgotten once the loop has scanned their block (they are then tracked by block); until
   * then, and while the node still has them pending, they are kept and asked about again.
   */
  private async droppedFromMempool(left: TransferEvent[], scannedHeight: () => number | null): Promise<{ dropped: TransferEvent[]; mined: TransferEvent[] }> {
    const dropped: TransferEvent[] = [];
    const mined: TransferEvent[] = [];
    const status = new Map<string, TxStatus>();
    for (const e of left) {
      let st = status.get(e.txHash);
      if (!st) {
        st = await this.ctx.watcher.getTransactionStatus(e.txHash);
        status.set(e.txHash, st);
      }
      const scanned = scannedHeight();
      if (st.state === 'dropped') dropped.push(e);
      else if (st.state === 'confirmed' && scanned !== null && st.blockHeight <= scanned) mined.push(e);
    }
    return { dropped, mined };
  }
}
