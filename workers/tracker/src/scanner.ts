import { randomUUID } from 'node:crypto';
import type { Bus, EventData } from '@cpg/core/bus';
import type { BlockWithTransfers, ChainWatcher, NetworkConfig, Transfer } from '@cpg/chains';
import type { EntityManager, OutboxRelay } from '@cpg/core/db';
import type { Logger } from '@cpg/core/logger';
import { CursorMovedError, CursorStore } from './cursor-store';
import { confirmedUpTo, depthOf } from './domain/confirmations';
import { type TransferEvent, matchTransfers } from './domain/match';
import { type CursorPosition, extendsCursor } from './domain/reorg';
import type { WatchList } from './domain/watchlist';
import { MempoolScan } from './mempool';
import { walkBackReorg } from './reorg-handler';
import { NewAddressRescan } from './rescan';
import { type ScanContext, resolveSenders } from './scan-context';

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

/**
 * The scan loop of one network, written once for every family: it talks only to ChainWatcher.
 * Each block is committed in one transaction holding its events (outbox), its transfers, the
 * confirmations it completes and the cursor advance, so a crash at any point resumes from the
 * cursor with nothing lost, and re-emitted events carry the same ids. The rescan of addresses
 * learned late (./rescan), the reorg walk-back (./reorg-handler) and the mempool (./mempool) are
 * its parts; the SQL is in ./cursor-store.
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
  private readonly log: Logger;
  private readonly ctx: ScanContext;
  private readonly rescan: NewAddressRescan;
  private readonly mempool: MempoolScan;

  constructor(private readonly deps: ScannerDeps) {
    this.log = deps.log.child({ network: deps.network.id });
    this.ctx = {
      network: deps.network,
      watcher: deps.watcher,
      watch: deps.watch,
      store: new CursorStore(deps.em, deps.schema, deps.network.id),
      relay: deps.relay,
      log: this.log,
    };
    this.rescan = new NewAddressRescan(this.ctx);
    this.mempool = new MempoolScan(this.ctx);
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
      this.mempool.reset();
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
    this.rescan.notice();
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
    await this.rescan.runIfDue(this.cursor, () => !this.stopped && this.active);
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
      await this.mempool.scan(() => this.cursor?.height ?? null);
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
    const { watcher, options } = this.deps;
    const stored = await this.ctx.store.readCursor();
    if (stored) return stored;
    const tip = await watcher.getTipHeight();
    const start = Math.max(0, Math.min(options.startHeight ?? tip + 1, tip + 1));
    const ref = start > 0 ? await watcher.getBlockRef(start - 1) : null;
    const cursor = await this.ctx.store.initCursor({ height: start - 1, hash: ref?.hash ?? null });
    this.log.info({ height: cursor.height }, 'cursor initialised');
    return cursor;
  }

  /** The transfers that reach a watched address, as events (see matchTransfers). */
  match(transfers: Transfer[], scannedHeight: number | null): TransferEvent[] {
    return matchTransfers(this.deps.network, this.deps.watch, transfers, scannedHeight);
  }

  private async commitBlock(block: BlockWithTransfers): Promise<void> {
    const { network } = this.deps;
    const prev = this.cursor!;
    const events = await resolveSenders(this.ctx, this.match(block.transfers, block.height));
    await this.ctx.store.transaction(async (tx) => {
      // Moved first: the conditional move also guards against a second instance that took the
      // lease while we were reading the block.
      await tx.moveCursor(prev, { height: block.height, hash: block.hash });
      await tx.recordBlock(block);
      for (const e of events) await tx.emit('seen', e, e.blockHash);
      await tx.keepBlockTransfers(block.height, events);
      for (const due of await tx.confirmUpTo(confirmedUpTo(block.height, network.confirmations))) {
        const e = { ...due.event, confirmations: depthOf(block.height, due.blockHeight) };
        await tx.emit('confirmed', e, e.blockHash);
      }
      // Beyond the deepest reorg we follow, a block's transfers can no longer be reorged.
      await tx.prune(block.height - Math.max(network.maxReorgDepth, network.confirmations) - 1);
    });
    this.cursor = { height: block.height, hash: block.hash };
    if (events.length) this.deps.relay.kick();
  }

  /** Moves the cursor back to the common ancestor (see walkBackReorg), or halts the loop for an operator. */
  private async handleReorg(newHash: string | null): Promise<void> {
    const outcome = await walkBackReorg(this.ctx, this.cursor!, newHash);
    if (outcome.kind === 'too-deep') {
      this.halted = outcome.reason;
      throw new Error(this.halted);
    }
    this.cursor = outcome.cursor;
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
