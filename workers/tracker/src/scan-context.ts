import type { ChainWatcher, NetworkConfig } from '@cpg/chains';
import type { OutboxRelay } from '@cpg/core/db';
import type { Logger } from '@cpg/core/logger';
import type { CursorStore } from './cursor-store';
import { isInternalTransfer } from './domain/internal';
import type { TransferEvent } from './domain/match';
import { type WatchList, watchKey } from './domain/watchlist';

/** What the scan loop's parts (block commit, rescan, reorg walk-back, mempool) share for one network. */
export interface ScanContext {
  network: NetworkConfig;
  watcher: ChainWatcher;
  /** The network's watch list, shared with the watch registry. */
  watch: WatchList;
  store: CursorStore;
  /** Kicked after a commit that wrote events, so they are published without waiting for its poll. */
  relay: OutboxRelay;
  /** Already bound to the network. */
  log: Logger;
}

/**
 * Where the chain's blocks do not name the payer (Bitcoin family), asks the watcher for the
 * first input's address of each matched transfer, and tells internal transfers (a sweep or a
 * withdrawal's change to one of our addresses) from deposits. Mutates and returns `events`.
 */
export async function resolveSenders(ctx: ScanContext, events: TransferEvent[]): Promise<TransferEvent[]> {
  const { watcher, watch, network } = ctx;
  if (!watcher.senderOf) return events;
  const senders = new Map<string, string | null>();
  for (const e of events) {
    if (e.from !== null) continue;
    let from = senders.get(e.txHash);
    if (from === undefined) {
      from = await watcher.senderOf(e.txHash);
      senders.set(e.txHash, from);
    }
    if (from === null) continue;
    e.from = from;
    e.internal = isInternalTransfer(watch.getByKey(watchKey(network, from)), watch.getByKey(watchKey(network, e.to))!);
  }
  return events;
}
