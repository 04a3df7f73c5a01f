import { randomUUID } from 'node:crypto';
import type { Bus } from '@cpg/core/bus';
import type { EventData } from '@cpg/core/bus';
import type { BlockWithTransfers, ChainWatcher, NetworkConfig, Transfer } from '@cpg/chains';
import { type EntityManager, type OutboxRelay, writeOutbox } from '@cpg/core/db';
import type { Logger } from '@cpg/core/logger';
import { confirmedUpTo, depthOf } from './domain/confirmations';
import { transferEventId } from './domain/events';
import { matchTransfers } from './domain/match';
import { type CursorPosition, extendsCursor, findCommonAncestor } from './domain/reorg';
import { isInternalTransfer } from './domain/internal';
import { WatchList, type WatchedType, watchKey } from './domain/watchlist';

type TransferEvent = EventData<'chain.transfer.seen'>;

export interface ScannerOptions {
  /** Blocks per catch-up batch; progress is logged per batch. */
  batchSize: number;
  /** How many blocks are fetched ahead while catching up. */
  prefetch: number;
  /** Tip poll when the watcher pushes no heads (Bitcoin Core RPC); a fallback otherwise. */
  pollIntervalMs: number;
  /**
   * With pushed heads, how often an idle loop still polls: it re-checks the cursor's block (a
   * reorg at the same height pushes no new height) and covers a silent subscription.
   */
  idleRecheckMs: number;
  statusIntervalMs: number;
  /** First height to scan when the network has no cursor yet; default: the block after the tip. */
  startHeight?: number;
  maxBackoffMs: number;
}

export interface ScannerDeps {
  network: NetworkConfig;
  watcher: ChainWatcher;
  watch: WatchList;
  em: EntityManager;
  schema: string;
  bus: Bus;
  relay: OutboxRelay;
  log: Logger;
  /**
   * Called before each catch-up batch, so addresses another instance's consumer stored are
   * known before the blocks are matched. Must be idempotent (it re-reads a window of rows).
   */
  refreshWatchList: () => Promise<void>;
  options: ScannerOptions;
}

export interface ScannerStatus {
  network: string;
  active: boolean;
  available: boolean;
  scannedHeight: number | null;
  tipHeight: number | null;
  error?: string;
}

/** How often pending rescans are looked for without a nudge (rows from other instances, crashes). */
const RESCAN_CHECK_MS = 5000;
/** Pending addresses handled per pass. */
const RESCAN_BATCH = 10_000;
/** Blocks committed this long before an address's creation are looked at too (clock skew between services). */
const RESCAN_CLOCK_MARGIN_MS = 60_000;

/** Another instance moved the cursor under us (it holds the lease now): our transaction is void. */
class CursorMovedError extends Error {}

/**
 * The scan loop of one network, written once for every family: it talks only to ChainWatcher.
 * Each block is committed in one transaction holding its events (outbox), its transfers, the
 * confirmations it completes and the cursor advance, so a crash at any point resumes from the
 * cursor with nothing lost, and re-emitted events carry the same ids.
 */
export class NetworkScanner {
  private cursor: CursorPosition | null = null;
  private tip: number | null = null;
  private active = false;
  private stopped = true;
  /**
   * Set while the loop cannot go on without an operator (a reorg deeper than the network allows:
   * e.g. a dev chain restarted empty under a database that remembers more): the tracker is then
   * not ready, so nothing reports a network as healthy that is no longer being scanned.
   */
  halted: string | undefined;
  private failures = 0;
  private lastError: string | undefined;
  private lastStatusAt = 0;
  private wakePending = false;
  private wake: (() => void) | null = null;
  private loop: Promise<void> | null = null;
  private unsubscribeHeads: (() => void) | undefined;
  /** Set when an address was added: the next pass looks for it in the blocks already committed. */
  private rescanDue = true;
  private lastRescanCheck = 0;
  /** Mempool transfers already reported, by txHash:index:coinId, until they leave the mempool for good. */
  private readonly mempoolEmitted = new Map<string, TransferEvent>();
  /** Whether mempoolEmitted holds the stored rows (read once per activation). */
  private mempoolLoaded = false;
  private readonly log: Logger;
  private readonly schema: string;

  constructor(private readonly deps: ScannerDeps) {
    this.log = deps.log.child({ network: deps.network.id });
    this.schema = deps.schema;
  }

  /** Called once at start. The loop idles until setActive(true) (the lease is ours). */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.unsubscribeHeads = this.deps.watcher.onNewHead?.(() => this.poke());
    this.loop = this.run();
  }

  /** Called when the lease is gained or lost. Losing it drops the cached cursor: the next holder moves it. */
  setActive(active: boolean): void {
    this.active = active;
    if (!active) {
      this.cursor = null;
      // The next holder owns the mempool bookkeeping; ours is read again if the lease comes back.
      this.mempoolEmitted.clear();
      this.mempoolLoaded = false;
    }
    this.poke();
  }

  /** Called at shutdown; waits for the block in flight to commit or roll back. Idempotent. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribeHeads?.();
    this.poke();
    await this.loop;
  }

  /**
   * Called after an address.created was stored (pending_rescans row written): the loop looks for
   * the address in blocks committed since its creation before going on. Idempotent.
   */
  noticeNewAddresses(): void {
    this.rescanDue = true;
    this.poke();
  }

  status(): ScannerStatus {
    return {
      network: this.deps.network.id,
      active: this.active,
      available: this.failures === 0,
      scannedHeight: this.cursor?.height ?? null,
      tipHeight: this.tip,
      ...(this.lastError ? { error: this.lastError } : {}),
    };
  }

  private poke(): void {
    this.wakePending = true;
    this.wake?.();
  }

  private async pause(ms: number): Promise<void> {
    if (this.wakePending || this.stopped) {
      this.wakePending = false;
      return;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
    this.wake = null;
    this.wakePending = false;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      if (!this.active) {
        await this.pause(1000);
        continue;
      }
      try {
        const idle = await this.step();
        this.halted = undefined;
        if (this.failures > 0) this.log.info('chain reachable again');
        this.failures = 0;
        this.lastError = undefined;
        await this.maybePublishStatus(false);
        if (idle)
          await this.pause(
            this.deps.watcher.onNewHead ? Math.max(this.deps.options.pollIntervalMs, this.deps.options.idleRecheckMs) : this.deps.options.pollIntervalMs,
          );
      } catch (err) {
        if (err instanceof CursorMovedError) {
          this.log.warn('cursor moved by another instance; reloading it');
          this.cursor = null;
          continue;
        }
        this.failures++;
        this.lastError = (err as Error).message;
        // One chain's outage only slows this loop: the process and other networks carry on.
        if (this.failures === 1 || this.failures % 20 === 0)
          this.log.warn({ err: this.lastError, failures: this.failures }, 'scan failed; retrying with backoff');
        await this.maybePublishStatus(true);
        const base = Math.min(this.deps.options.maxBackoffMs, 250 * 2 ** Math.min(this.failures - 1, 8));
        await this.pause(Math.round(base * (0.5 + Math.random() / 2)));
      }
    }
  }

  /** One pass: catch up one batch, or, at the tip, look at the mempool. Returns true when idle. */
  private async step(): Promise<boolean> {
    this.cursor ??= await this.loadCursor();
    // Rows written by another instance's consumer, or left by a crash, are found by the periodic check.
    if (this.rescanDue || Date.now() - this.lastRescanCheck >= RESCAN_CHECK_MS) {
      this.rescanDue = false;
      this.lastRescanCheck = Date.now();
      await this.rescanNewAddresses();
    }
    const tip = await this.deps.watcher.getTipHeight();
    this.tip = tip;
    if (this.cursor.height >= tip) {
      // A reorg that keeps (or lowers) the height brings no new block to trip the parent check:
      // the block under the cursor itself must still be the chain's.
      if (this.cursor.hash !== null) {
        const ref = await this.deps.watcher.getBlockRef(this.cursor.height);
        if (!ref || ref.hash.toLowerCase() !== this.cursor.hash.toLowerCase()) {
          await this.handleReorg(ref?.hash ?? null);
          return false;
        }
      }
      await this.scanMempool();
      return true;
    }
    await this.deps.refreshWatchList();
    const from = this.cursor.height + 1;
    const until = Math.min(tip, this.cursor.height + this.deps.options.batchSize);
    const fetched = new Map<number, Promise<BlockWithTransfers>>();
    const fetchAhead = (h: number) => {
      for (let k = h; k <= Math.min(until, h + this.deps.options.prefetch - 1); k++) {
        if (fetched.has(k)) continue;
        const p = this.deps.watcher.getBlockTransfers(k);
        // Blocks fetched ahead of a reorg or an error are never awaited.
        p.catch(() => undefined);
        fetched.set(k, p);
      }
    };
    for (let h = from; h <= until && !this.stopped && this.active; h++) {
      fetchAhead(h);
      const block = await fetched.get(h)!;
      fetched.delete(h);
      if (!extendsCursor(this.cursor, block)) {
        await this.handleReorg(block.hash);
        return false;
      }
      await this.commitBlock(block);
    }
    if (tip - from >= this.deps.options.batchSize || until < tip) {
      this.log.info({ scannedHeight: this.cursor.height, tipHeight: tip, lagBlocks: tip - this.cursor.height }, 'catching up');
    }
    return false;
  }

  private async loadCursor(): Promise<CursorPosition> {
    const { network, watcher, options } = this.deps;
    const rows = await this.deps.em
      .fork()
      .execute<{ height: string; hash: string | null }[]>(`select height, hash from "${this.schema}".cursors where network = ?`, [network.id]);
    if (rows.length) return { height: Number(rows[0]!.height), hash: rows[0]!.hash };
    const tip = await watcher.getTipHeight();
    const start = Math.max(0, Math.min(options.startHeight ?? tip + 1, tip + 1));
    const ref = start > 0 ? await watcher.getBlockRef(start - 1) : null;
    const cursor: CursorPosition = { height: start - 1, hash: ref?.hash ?? null };
    await this.deps.em
      .fork()
      .execute(`insert into "${this.schema}".cursors (network, height, hash) values (?, ?, ?) on conflict (network) do nothing`, [
        network.id,
        cursor.height,
        cursor.hash,
      ]);
    const again = await this.deps.em
      .fork()
      .execute<{ height: string; hash: string | null }[]>(`select height, hash from "${this.schema}".cursors where network = ?`, [network.id]);
    this.log.info({ height: Number(again[0]!.height) }, 'cursor initialised');
    return { height: Number(again[0]!.height), hash: again[0]!.hash };
  }

  /** The transfers that reach a watched address, as events (see matchTransfers). */
  match(transfers: Transfer[], scannedHeight: number | null): TransferEvent[] {
    return matchTransfers(this.deps.network, this.deps.watch, transfers, scannedHeight);
  }

  /**
   * Where the chain's blocks do not name the payer (Bitcoin family), asks the watcher for the
   * first input's address of each matched transfer, and tells internal transfers (a sweep or a
   * withdrawal's change to one of our addresses) from deposits. Mutates and returns `events`.
   */
  private async resolveSenders(events: TransferEvent[]): Promise<TransferEvent[]> {
    const { watcher, watch, network } = this.deps;
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

  private async commitBlock(block: BlockWithTransfers): Promise<void> {
    const { network } = this.deps;
    const prev = this.cursor!;
    const events = await this.resolveSenders(this.match(block.transfers, block.height));
    const s = this.schema;
    await this.deps.em.fork().transactional(async (tx) => {
      // The conditional update is both the cursor advance and the guard against a second
      // instance that took the lease while we were reading the block.
      const moved = await tx.execute<{ network: string }[]>(
        `update "${s}".cursors set height = ?, hash = ?, updated_at = now() where network = ? and height = ? and hash is not distinct from ? returning network`,
        [block.height, block.hash, network.id, prev.height, prev.hash],
      );
      if (!moved.length) throw new CursorMovedError();
      await tx.execute(
        `insert into "${s}".blocks (network, height, hash, parent_hash) values (?, ?, ?, ?) on conflict (network, height) do update set hash = excluded.hash, parent_hash = excluded.parent_hash, scanned_at = now()`,
        [network.id, block.height, block.hash, block.parentHash],
      );
      for (const e of events) {
        await writeOutbox(tx, s, 'chain.transfer.seen', e, {
          key: e.addressId,
          id: transferEventId(network.id, e.txHash, e.index, e.coinId, 'seen', e.blockHash),
        });
      }
      for (let i = 0; i < events.length; i += 500) {
        const chunk = events.slice(i, i + 500);
        await tx.execute(
          `insert into "${s}".block_transfers (network, tx_hash, idx, coin_id, block_hash, block_height, data) values ${chunk.map(() => '(?, ?, ?, ?, ?, ?, ?)').join(', ')} on conflict do nothing`,
          chunk.flatMap((e) => [network.id, e.txHash, e.index, e.coinId, e.blockHash, block.height, JSON.stringify(e)]),
        );
      }
      const due = await tx.execute<{ data: TransferEvent; block_height: string }[]>(
        `update "${s}".block_transfers set confirmed = true where network = ? and not confirmed and block_height <= ? returning data, block_height`,
        [network.id, confirmedUpTo(block.height, network.confirmations)],
      );
      for (const row of due) {
        const e = { ...row.data, confirmations: depthOf(block.height, Number(row.block_height)) };
        await writeOutbox(tx, s, 'chain.transfer.confirmed', e, {
          key: e.addressId,
          id: transferEventId(network.id, e.txHash, e.index, e.coinId, 'confirmed', e.blockHash),
        });
      }
      // Beyond the deepest reorg we follow, a block's transfers can no longer be reorged.
      const keepFrom = block.height - Math.max(network.maxReorgDepth, network.confirmations) - 1;
      await tx.execute(`delete from "${s}".block_transfers where network = ? and confirmed and block_height < ?`, [network.id, keepFrom]);
      // Blocks scanned within the last hour stay for rescans of addresses learned late.
      await tx.execute(`delete from "${s}".blocks where network = ? and height < ? and scanned_at < now() - interval '1 hour'`, [network.id, keepFrom]);
    });
    this.cursor = { height: block.height, hash: block.hash };
    if (events.length) this.deps.relay.kick();
  }

  /**
   * Addresses reach the tracker through address.created, a moment after they exist: a customer
   * paying at once may be paid in a block the loop committed before it knew the address. For
   * each address not yet looked for, the blocks committed since its creation (less a margin for
   * clocks) up to the cursor are fetched again and matched against those addresses only. Found
   * transfers get the same event ids as the normal path and are written only when their
   * block_transfers row is new, so a transfer both paths saw is reported once; the pending rows
   * go in the same transaction, so a crash repeats the rescan, never its effects.
   */
  private async rescanNewAddresses(): Promise<void> {
    const { network, watcher, watch } = this.deps;
    const s = this.schema;
    const em = this.deps.em.fork();
    const cursor = this.cursor!;
    const pending = await em.execute<{ address_id: string; merchant_id: string; address: string; type: WatchedType; address_created_at: Date }[]>(
      `select address_id, merchant_id, address, type, address_created_at from "${s}".pending_rescans where network = ? order by address_created_at limit ?`,
      [network.id, RESCAN_BATCH],
    );
    if (!pending.length) return;
    if (pending.length === RESCAN_BATCH) this.rescanDue = true;
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
    const heights = await em.execute<{ height: string; hash: string }[]>(
      `select height, hash from "${s}".blocks where network = ? and height <= ? and height >= coalesce((select min(height) from "${s}".blocks where network = ? and scanned_at >= ?), ? + 1) order by height`,
      [network.id, cursor.height, network.id, since, cursor.height],
    );
    const events: TransferEvent[] = [];
    const started = Date.now();
    for (const [i, row] of heights.entries()) {
      if (this.stopped || !this.active) return;
      const block = await watcher.getBlockTransfers(Number(row.height));
      // The chain moved under the stored block: the main loop's reorg handling goes first.
      if (block.hash.toLowerCase() !== row.hash.toLowerCase()) return;
      events.push(...(await this.resolveSenders(matchTransfers(network, list, block.transfers, cursor.height, watch))));
      if ((i + 1) % 100 === 0) this.log.info({ rescanned: i + 1, of: heights.length, addresses: pending.length }, 'rescanning blocks for new addresses');
    }
    let written = 0;
    await em.transactional(async (tx) => {
      const at = await tx.execute<{ height: string; hash: string | null }[]>(`select height, hash from "${s}".cursors where network = ? for update`, [
        network.id,
      ]);
      if (!at.length || Number(at[0]!.height) !== cursor.height || at[0]!.hash !== cursor.hash) throw new CursorMovedError();
      for (const e of events) {
        const height = e.blockHeight!;
        const confirmed = height <= confirmedUpTo(cursor.height, network.confirmations);
        const inserted = await tx.execute<{ tx_hash: string }[]>(
          `insert into "${s}".block_transfers (network, tx_hash, idx, coin_id, block_hash, block_height, data, confirmed) values (?, ?, ?, ?, ?, ?, ?, ?) on conflict do nothing returning tx_hash`,
          [network.id, e.txHash, e.index, e.coinId, e.blockHash, height, JSON.stringify(e), confirmed],
        );
        if (!inserted.length) continue;
        written++;
        await writeOutbox(tx, s, 'chain.transfer.seen', e, {
          key: e.addressId,
          id: transferEventId(network.id, e.txHash, e.index, e.coinId, 'seen', e.blockHash),
        });
        if (confirmed)
          await writeOutbox(tx, s, 'chain.transfer.confirmed', e, {
            key: e.addressId,
            id: transferEventId(network.id, e.txHash, e.index, e.coinId, 'confirmed', e.blockHash),
          });
      }
      await tx.execute(`delete from "${s}".pending_rescans where network = ? and address_id in (${pending.map(() => '?').join(', ')})`, [
        network.id,
        ...pending.map((r) => r.address_id),
      ]);
    });
    if (written || heights.length > 10)
      this.log.info(
        { addresses: pending.length, blocks: heights.length, found: written, ms: Date.now() - started },
        'rescanned committed blocks for new addresses',
      );
    if (written) this.deps.relay.kick();
  }

  /**
   * The block after the cursor does not build on what we committed: walk back to the common
   * ancestor, report every transfer of the orphaned blocks as reorged, and move the cursor
   * there; the next pass scans the replacement blocks, whose transfers are seen anew.
   */
  private async handleReorg(newHash: string | null): Promise<void> {
    const { network, watcher } = this.deps;
    const cursor = this.cursor!;
    const s = this.schema;
    const em = this.deps.em.fork();
    const walk = await findCommonAncestor(
      cursor.height,
      network.maxReorgDepth || 50,
      async (h) => {
        if (h === cursor.height) return cursor.hash;
        const rows = await em.execute<{ hash: string }[]>(`select hash from "${s}".blocks where network = ? and height = ?`, [network.id, h]);
        return rows[0]?.hash;
      },
      async (h) => (await watcher.getBlockRef(h))?.hash ?? null,
    );
    if (walk.kind === 'too-deep') {
      this.log.error(
        { cursor: cursor.height, checkedDown: walk.checkedDown },
        'reorg deeper than the configured maximum: the loop stops here until an operator looks',
      );
      this.halted = `reorg deeper than ${network.maxReorgDepth} blocks below ${cursor.height}`;
      throw new Error(this.halted);
    }
    const ancestor = walk.height;
    const ancestorHash = ancestor >= 0 ? ((await watcher.getBlockRef(ancestor))?.hash ?? null) : null;
    let reorged = 0;
    await em.transactional(async (tx) => {
      const moved = await tx.execute<{ network: string }[]>(
        `update "${s}".cursors set height = ?, hash = ?, updated_at = now() where network = ? and height = ? and hash is not distinct from ? returning network`,
        [ancestor, ancestorHash, network.id, cursor.height, cursor.hash],
      );
      if (!moved.length) throw new CursorMovedError();
      const gone = await tx.execute<{ data: TransferEvent }[]>(`delete from "${s}".block_transfers where network = ? and block_height > ? returning data`, [
        network.id,
        ancestor,
      ]);
      for (const row of gone) {
        const e = { ...row.data, confirmations: 0 };
        await writeOutbox(tx, s, 'chain.transfer.reorged', e, {
          key: e.addressId,
          id: transferEventId(network.id, e.txHash, e.index, e.coinId, 'reorged', e.blockHash),
        });
      }
      reorged = gone.length;
      await tx.execute(`delete from "${s}".blocks where network = ? and height > ?`, [network.id, ancestor]);
    });
    this.log.warn({ from: cursor.height, ancestor, depth: cursor.height - ancestor, newHash, reorged }, 'reorg: walked back to the common ancestor');
    this.cursor = { height: ancestor, hash: ancestorHash };
    if (reorged) this.deps.relay.kick();
  }

  /**
   * Unconfirmed transfers (Bitcoin family) are reported once each while they wait. One that
   * leaves the mempool without reaching a scanned block is asked about: if the node says it was
   * dropped (evicted, replaced by fee bump or double spend), it is reported reorged, so a
   * payment shown as "seen" does not wait forever. The reported ones are stored with their
   * events, so after a restart one dropped meanwhile is still found and reported.
   */
  private async scanMempool(): Promise<void> {
    const { network } = this.deps;
    const key = (e: TransferEvent) => `${e.txHash}:${e.index}:${e.coinId}`;
    if (!this.mempoolLoaded) {
      const rows = await this.deps.em
        .fork()
        .execute<{ data: TransferEvent }[]>(`select data from "${this.schema}".mempool_transfers where network = ?`, [network.id]);
      for (const r of rows) this.mempoolEmitted.set(key(r.data), r.data);
      this.mempoolLoaded = true;
    }
    const transfers = await this.deps.watcher.getMempoolTransfers();
    const current = new Set<string>();
    const fresh: TransferEvent[] = [];
    for (const e of this.match(transfers, null)) {
      const key = `${e.txHash}:${e.index}:${e.coinId}`;
      current.add(key);
      if (!this.mempoolEmitted.has(key)) fresh.push(e);
    }
    // Only new sightings cost a sender lookup; the rest were resolved when first reported.
    await this.resolveSenders(fresh);
    const left: TransferEvent[] = [];
    for (const [k, e] of this.mempoolEmitted) if (!current.has(k)) left.push(e);
    const { dropped, mined } = await this.droppedFromMempool(left);
    const s = this.schema;
    const forget = async (tx: EntityManager, e: TransferEvent) =>
      tx.execute(`delete from "${s}".mempool_transfers where network = ? and tx_hash = ? and idx = ? and coin_id = ?`, [
        network.id,
        e.txHash,
        e.index,
        e.coinId,
      ]);
    if (mined.length) {
      await this.deps.em.fork().transactional(async (tx) => {
        for (const e of mined) await forget(tx, e);
      });
      for (const e of mined) this.mempoolEmitted.delete(key(e));
    }
    if (!fresh.length && !dropped.length) return;
    await this.deps.em.fork().transactional(async (tx) => {
      for (const e of fresh) {
        await writeOutbox(tx, s, 'chain.transfer.seen', e, {
          key: e.addressId,
          id: transferEventId(network.id, e.txHash, e.index, e.coinId, 'seen', null),
        });
        await tx.execute(`insert into "${s}".mempool_transfers (network, tx_hash, idx, coin_id, data) values (?, ?, ?, ?, ?) on conflict do nothing`, [
          network.id,
          e.txHash,
          e.index,
          e.coinId,
          JSON.stringify(e),
        ]);
      }
      for (const e of dropped) {
        await writeOutbox(tx, s, 'chain.transfer.reorged', e, {
          key: e.addressId,
          id: transferEventId(network.id, e.txHash, e.index, e.coinId, 'reorged', null),
        });
        await forget(tx, e);
      }
    });
    for (const e of fresh) this.mempoolEmitted.set(key(e), e);
    for (const e of dropped) this.mempoolEmitted.delete(key(e));
    this.deps.relay.kick();
  }

  /**
   * Of the transfers that left the mempool, those the node reports dropped. Mined ones are
   * forgotten once the loop has scanned their block (they are then tracked by block); until
   * then, and while the node still has them pending, they are kept and asked about again.
   */
  private async droppedFromMempool(left: TransferEvent[]): Promise<{ dropped: TransferEvent[]; mined: TransferEvent[] }> {
    const dropped: TransferEvent[] = [];
    const mined: TransferEvent[] = [];
    const status = new Map<string, Awaited<ReturnType<ChainWatcher['getTransactionStatus']>>>();
    for (const e of left) {
      let st = status.get(e.txHash);
      if (!st) {
        st = await this.deps.watcher.getTransactionStatus(e.txHash);
        status.set(e.txHash, st);
      }
      if (st.state === 'dropped') dropped.push(e);
      else if (st.state === 'confirmed' && this.cursor && st.blockHeight <= this.cursor.height) mined.push(e);
    }
    return { dropped, mined };
  }

  private async maybePublishStatus(error: boolean): Promise<void> {
    const now = Date.now();
    if (!error && now - this.lastStatusAt < this.deps.options.statusIntervalMs) return;
    // During an outage, one status per interval is enough: the first failure reports at once.
    if (error && this.failures > 1 && now - this.lastStatusAt < this.deps.options.statusIntervalMs) return;
    this.lastStatusAt = now;
    const scanned = this.cursor?.height ?? null;
    const data: EventData<'chain.status'> = {
      network: this.deps.network.id,
      available: !error,
      scannedHeight: scanned !== null && scanned >= 0 ? scanned : null,
      tipHeight: this.tip,
      lagBlocks: scanned !== null && this.tip !== null ? Math.max(0, this.tip - scanned) : null,
      at: new Date(now).toISOString(),
      ...(error && this.lastError ? { error: this.lastError.slice(0, 500) } : {}),
    };
    try {
      await this.deps.bus.publish('chain.status', data, { id: randomUUID(), key: this.deps.network.id });
    } catch (err) {
      this.log.debug({ err: (err as Error).message }, 'chain.status not published');
    }
  }
}
