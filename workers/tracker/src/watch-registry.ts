import type { NetworkConfig } from '@cpg/chains';
import type { EntityManager } from '@cpg/core/db';
import type { Logger } from '@cpg/core/logger';
import { watchedAddressesAfter } from './cursor-store';
import { WatchList, type WatchEntry } from './domain/watchlist';

const PAGE = 50_000;
/**
 * Rows whose seq is below the highest we have read may still commit later (sequences are taken
 * before commit); re-reading a short window behind it catches them. Adding twice is harmless.
 */
const SEQ_LOOKBACK = 200;

/** The watch lists of the networks this process tracks, fed from the tracker's own table. */
export class WatchRegistry {
  readonly lists = new Map<string, WatchList>();
  private lastSeq = 0;

  constructor(
    networks: NetworkConfig[],
    private readonly em: EntityManager,
    private readonly schema: string,
    private readonly log: Logger,
  ) {
    for (const n of networks) this.lists.set(n.id, new WatchList(n));
  }

  /** Called when an address.created was applied here: the map learns it without a query. Idempotent. */
  add(address: string, entry: WatchEntry, networks: string[]): void {
    for (const id of networks) {
      if (this.lists.get(id)?.add(address, entry) === false) {
        this.log.error(
          { network: id, address, addressId: entry.addressId, merchantId: entry.merchantId },
          'watch list: the address has another owner; the first one keeps it',
        );
      }
    }
  }

  /** Another merchant already watched for `address` on one of `networks` (an address has one owner). */
  ownedByAnother(address: string, merchantId: string, networks: string[]): { network: string; merchantId: string } | null {
    for (const id of networks) {
      const e = this.lists.get(id)?.get(address);
      if (e && e.merchantId !== merchantId) return { network: id, merchantId: e.merchantId };
    }
    return null;
  }

  /** Called at start (full load, paged) and before each scan batch (new rows only). Idempotent. */
  async refresh(): Promise<number> {
    const em = this.em.fork();
    let read = 0;
    let after = Math.max(0, this.lastSeq - (this.lastSeq ? SEQ_LOOKBACK : 0));
    for (;;) {
      const rows = await watchedAddressesAfter(em, this.schema, after, PAGE);
      for (const r of rows) this.add(r.address, { addressId: r.address_id, merchantId: r.merchant_id, type: r.type }, r.networks);
      read += rows.length;
      if (rows.length) {
        after = Number(rows[rows.length - 1]!.seq);
        this.lastSeq = Math.max(this.lastSeq, after);
      }
      if (rows.length < PAGE) break;
      if (read % 200_000 < PAGE) this.log.info({ loaded: read }, 'loading the watch list');
    }
    return read;
  }
}
