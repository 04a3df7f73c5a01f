import { type EntityManager, writeOutbox } from '@cpg/core/db';
import { type TransferEventKind, transferEventId } from './domain/events';
import type { TransferEvent } from './domain/match';
import type { CursorPosition } from './domain/reorg';
import type { WatchedType } from './domain/watchlist';

// The tracker's persistence: every SQL statement of the scan loop (cursor, scanned blocks, block
// and mempool transfers, pending rescans, outbox events) and of the watch list. Raw SQL with row
// types; the loop decides what to write, this module how.

/** Another instance moved the cursor under us (it holds the lease now): our transaction is void. */
export class CursorMovedError extends Error {}

interface CursorRow {
  height: string;
  hash: string | null;
}

interface StoredBlockRow {
  height: string;
  hash: string;
}

interface TransferDataRow {
  data: TransferEvent;
}

interface DueTransferRow {
  data: TransferEvent;
  block_height: string;
}

/** An address stored by address.created that the loop has not yet looked for in committed blocks. */
export interface PendingRescanRow {
  address_id: string;
  merchant_id: string;
  address: string;
  type: WatchedType;
  address_created_at: Date;
}

export interface WatchedAddressRow {
  address_id: string;
  merchant_id: string;
  address: string;
  type: WatchedType;
  networks: string[];
  seq: string;
}

/** One network's scan state. Each read runs on its own fork; writes go through `transaction`. */
export class CursorStore {
  constructor(
    private readonly em: EntityManager,
    private readonly schema: string,
    private readonly network: string,
  ) {}

  /** Called when the loop has no cursor in memory (start, lease gained, cursor moved). Read-only. */
  async readCursor(): Promise<CursorPosition | null> {
    const rows = await this.em.fork().execute<CursorRow[]>(`select height, hash from "${this.schema}".cursors where network = ?`, [this.network]);
    return rows.length ? { height: Number(rows[0]!.height), hash: rows[0]!.hash } : null;
  }

  /**
   * Called once for a network without a cursor: stores `cursor` unless another instance stored
   * one first, and returns the stored one (ours or theirs). Idempotent.
   */
  async initCursor(cursor: CursorPosition): Promise<CursorPosition> {
    await this.em
      .fork()
      .execute(`insert into "${this.schema}".cursors (network, height, hash) values (?, ?, ?) on conflict (network) do nothing`, [
        this.network,
        cursor.height,
        cursor.hash,
      ]);
    return (await this.readCursor())!;
  }

  /** The hash we committed at `height`, if still kept; called by the reorg walk-back. Read-only. */
  async storedHashAt(height: number): Promise<string | undefined> {
    const rows = await this.em
      .fork()
      .execute<{ hash: string }[]>(`select hash from "${this.schema}".blocks where network = ? and height = ?`, [this.network, height]);
    return rows[0]?.hash;
  }

  /** The oldest addresses still to be rescanned, at most `limit`. Read-only. */
  async pendingRescans(limit: number): Promise<PendingRescanRow[]> {
    return this.em
      .fork()
      .execute<PendingRescanRow[]>(
        `select address_id, merchant_id, address, type, address_created_at from "${this.schema}".pending_rescans where network = ? order by address_created_at limit ?`,
        [this.network, limit],
      );
  }

  /** The blocks committed at or after `since`, up to the cursor's height, oldest first. Read-only. */
  async blocksScannedSince(since: Date, upTo: number): Promise<{ height: number; hash: string }[]> {
    const s = this.schema;
    const rows = await this.em
      .fork()
      .execute<StoredBlockRow[]>(
        `select height, hash from "${s}".blocks where network = ? and height <= ? and height >= coalesce((select min(height) from "${s}".blocks where network = ? and scanned_at >= ?), ? + 1) order by height`,
        [this.network, upTo, this.network, since, upTo],
      );
    return rows.map((r) => ({ height: Number(r.height), hash: r.hash }));
  }

  /** The mempool transfers reported seen and not yet forgotten; read once per lease. Read-only. */
  async mempoolTransfers(): Promise<TransferEvent[]> {
    const rows = await this.em.fork().execute<TransferDataRow[]>(`select data from "${this.schema}".mempool_transfers where network = ?`, [this.network]);
    return rows.map((r) => r.data);
  }

  /** Runs `work` in one transaction: all of it commits, or none (a crash repeats it, never its effects). */
  async transaction<T>(work: (tx: CursorTx) => Promise<T>): Promise<T> {
    return this.em.fork().transactional((em) => work(new CursorTx(em, this.schema, this.network)));
  }
}

/** The writes of one transaction of one network's scan loop. */
export class CursorTx {
  constructor(
    private readonly tx: EntityManager,
    private readonly schema: string,
    private readonly network: string,
  ) {}

  /**
   * Moves the cursor from `from` to `to`. The conditional update is both the move and the guard
   * against a second instance that took the lease meanwhile: throws CursorMovedError then.
   */
  async moveCursor(from: CursorPosition, to: CursorPosition): Promise<void> {
    const moved = await this.tx.execute<{ network: string }[]>(
      `update "${this.schema}".cursors set height = ?, hash = ?, updated_at = now() where network = ? and height = ? and hash is not distinct from ? returning network`,
      [to.height, to.hash, this.network, from.height, from.hash],
    );
    if (!moved.length) throw new CursorMovedError();
  }

  /** Locks the cursor for the rest of the transaction; throws CursorMovedError unless it is still at `at`. */
  async lockCursorAt(at: CursorPosition): Promise<void> {
    const rows = await this.tx.execute<CursorRow[]>(`select height, hash from "${this.schema}".cursors where network = ? for update`, [this.network]);
    if (!rows.length || Number(rows[0]!.height) !== at.height || rows[0]!.hash !== at.hash) throw new CursorMovedError();
  }

  /** Remembers a committed block's hash for the reorg walk-back and rescans (re-committing one replaces it). */
  async recordBlock(block: { height: number; hash: string; parentHash: string }): Promise<void> {
    await this.tx.execute(
      `insert into "${this.schema}".blocks (network, height, hash, parent_hash) values (?, ?, ?, ?) on conflict (network, height) do update set hash = excluded.hash, parent_hash = excluded.parent_hash, scanned_at = now()`,
      [this.network, block.height, block.hash, block.parentHash],
    );
  }

  /** Keeps the transfers of a block at `height` until they are confirmed or reorged; ones already kept stay. */
  async keepBlockTransfers(height: number, events: TransferEvent[]): Promise<void> {
    for (let i = 0; i < events.length; i += 500) {
      const chunk = events.slice(i, i + 500);
      await this.tx.execute(
        `insert into "${this.schema}".block_transfers (network, tx_hash, idx, coin_id, block_hash, block_height, data) values ${chunk.map(() => '(?, ?, ?, ?, ?, ?, ?)').join(', ')} on conflict do nothing`,
        chunk.flatMap((e) => [this.network, e.txHash, e.index, e.coinId, e.blockHash, height, JSON.stringify(e)]),
      );
    }
  }

  /** Keeps one transfer found by a rescan (block height and hash from the event); false when it was kept already. */
  async keepRescannedTransfer(e: TransferEvent, confirmed: boolean): Promise<boolean> {
    const inserted = await this.tx.execute<{ tx_hash: string }[]>(
      `insert into "${this.schema}".block_transfers (network, tx_hash, idx, coin_id, block_hash, block_height, data, confirmed) values (?, ?, ?, ?, ?, ?, ?, ?) on conflict do nothing returning tx_hash`,
      [this.network, e.txHash, e.index, e.coinId, e.blockHash, e.blockHeight!, JSON.stringify(e), confirmed],
    );
    return inserted.length > 0;
  }

  /** Marks the kept transfers at or below `upTo` confirmed and returns those that were not yet, with their block height. */
  async confirmUpTo(upTo: number): Promise<{ event: TransferEvent; blockHeight: number }[]> {
    const rows = await this.tx.execute<DueTransferRow[]>(
      `update "${this.schema}".block_transfers set confirmed = true where network = ? and not confirmed and block_height <= ? returning data, block_height`,
      [this.network, upTo],
    );
    return rows.map((r) => ({ event: r.data, blockHeight: Number(r.block_height) }));
  }

  /**
   * Forgets confirmed transfers below `keepFrom` (beyond reorg reach) and blocks below it that
   * were scanned over an hour ago (younger ones stay for rescans of addresses learned late).
   */
  async prune(keepFrom: number): Promise<void> {
    const s = this.schema;
    await this.tx.execute(`delete from "${s}".block_transfers where network = ? and confirmed and block_height < ?`, [this.network, keepFrom]);
    await this.tx.execute(`delete from "${s}".blocks where network = ? and height < ? and scanned_at < now() - interval '1 hour'`, [this.network, keepFrom]);
  }

  /** Forgets the transfers kept above `height` and returns them (a reorg orphaned their blocks). */
  async dropTransfersAbove(height: number): Promise<TransferEvent[]> {
    const rows = await this.tx.execute<TransferDataRow[]>(
      `delete from "${this.schema}".block_transfers where network = ? and block_height > ? returning data`,
      [this.network, height],
    );
    return rows.map((r) => r.data);
  }

  /** Forgets the block hashes above `height` (orphaned by a reorg). */
  async dropBlocksAbove(height: number): Promise<void> {
    await this.tx.execute(`delete from "${this.schema}".blocks where network = ? and height > ?`, [this.network, height]);
  }

  /** Marks rescanned addresses done. */
  async deletePendingRescans(addressIds: string[]): Promise<void> {
    await this.tx.execute(`delete from "${this.schema}".pending_rescans where network = ? and address_id in (${addressIds.map(() => '?').join(', ')})`, [
      this.network,
      ...addressIds,
    ]);
  }

  /** Stores a mempool transfer reported seen, so a restart still finds it if it is dropped. */
  async rememberMempoolTransfer(e: TransferEvent): Promise<void> {
    await this.tx.execute(
      `insert into "${this.schema}".mempool_transfers (network, tx_hash, idx, coin_id, data) values (?, ?, ?, ?, ?) on conflict do nothing`,
      [this.network, e.txHash, e.index, e.coinId, JSON.stringify(e)],
    );
  }

  /** Forgets a mempool transfer (mined into a scanned block, or reported dropped). */
  async forgetMempoolTransfer(e: TransferEvent): Promise<void> {
    await this.tx.execute(`delete from "${this.schema}".mempool_transfers where network = ? and tx_hash = ? and idx = ? and coin_id = ?`, [
      this.network,
      e.txHash,
      e.index,
      e.coinId,
    ]);
  }

  /**
   * Writes chain.transfer.<kind> for `e` to the outbox, keyed by the address. Its id is fixed by
   * the transfer, the kind and `blockHash` (null for the mempool), so writing it again is a no-op.
   */
  async emit(kind: TransferEventKind, e: TransferEvent, blockHash: string | null): Promise<void> {
    await writeOutbox(this.tx, this.schema, `chain.transfer.${kind}`, e, {
      key: e.addressId,
      id: transferEventId(this.network, e.txHash, e.index, e.coinId, kind, blockHash),
    });
  }
}

/**
 * Stores an address from address.created in `tx` (the consumer's applyOnce transaction): the
 * watch list row, and one pending rescan per network, since blocks already committed may hold a
 * payment to it. Idempotent.
 */
export async function storeWatchedAddress(
  tx: EntityManager,
  schema: string,
  a: { addressId: string; merchantId: string; address: string; type: WatchedType; networks: string[] },
  createdAt: string | Date,
): Promise<void> {
  await tx.execute(
    `insert into "${schema}".watched_addresses (address_id, merchant_id, address, type, networks) values (?, ?, ?, ?, ?::text[])
     on conflict (address_id) do nothing`,
    [a.addressId, a.merchantId, a.address, a.type, `{${a.networks.map((n) => `"${n}"`).join(',')}}`],
  );
  for (const network of a.networks) {
    await tx.execute(
      `insert into "${schema}".pending_rescans (network, address_id, merchant_id, address, type, address_created_at) values (?, ?, ?, ?, ?, ?)
       on conflict do nothing`,
      [network, a.addressId, a.merchantId, a.address, a.type, createdAt],
    );
  }
}

/** Watch list rows with seq above `afterSeq`, in seq order, at most `limit`. Read-only. */
export async function watchedAddressesAfter(em: EntityManager, schema: string, afterSeq: number, limit: number): Promise<WatchedAddressRow[]> {
  return em.execute<WatchedAddressRow[]>(
    `select address_id, merchant_id, address, type, networks, seq from "${schema}".watched_addresses where seq > ? order by seq limit ?`,
    [afterSeq, limit],
  );
}
