import type { EventData } from '@cpg/core/bus';
import type { NetworkConfig, Transfer } from '@cpg/chains';
import { depthOf } from './confirmations';
import { isInternalTransfer } from './internal';
import { type WatchList, watchKey } from './watchlist';

export type TransferEvent = EventData<'chain.transfer.seen'>;

/**
 * The transfers of a block (or the mempool, with `scannedHeight` null) that reach a watched
 * address, as events. The hot path of the tracker: one map lookup per transfer, and work
 * beyond it only for the few that match.
 */
export function matchTransfers(
  network: Pick<NetworkConfig, 'id' | 'family' | 'bitcoin'>,
  watch: WatchList,
  transfers: Transfer[],
  scannedHeight: number | null,
  /** Where senders are looked up to tag internal transfers; a rescan for a few new addresses passes the whole list. */
  senders: WatchList = watch,
): TransferEvent[] {
  const out: TransferEvent[] = [];
  for (const t of transfers) {
    const to = watch.getByKey(watchKey(network, t.to));
    if (!to) continue;
    const from = t.from === null ? undefined : senders.getByKey(watchKey(network, t.from));
    out.push({
      network: network.id,
      txHash: t.txHash,
      index: t.index,
      from: t.from,
      to: t.to,
      coinId: t.coinId,
      amount: t.amount.toString(),
      blockHeight: t.blockHeight,
      blockHash: t.blockHash,
      confirmations: t.blockHeight === null || scannedHeight === null ? 0 : depthOf(scannedHeight, t.blockHeight),
      addressId: to.addressId,
      merchantId: to.merchantId,
      internal: isInternalTransfer(from, to),
    });
  }
  return out;
}
