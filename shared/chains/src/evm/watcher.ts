import { ChainError, type BlockRef, type BlockWithTransfers, type ChainWatcher, type NetworkConfig, type RpcTransport, type Transfer } from '../types';
import {
  extractBlockTransfers,
  internalTransfersFromCallTraces,
  internalTransfersFromParityTraces,
  tokenRegistry,
  type InternalTransfer,
  type TokenRegistry,
} from './extract';
import type { CallTraceResult, ParityTrace, RawBlock, RawReceipt } from './raw';

export interface EvmWatcherOptions {
  /**
   * eth_blockNumber polling period of onNewHead when the endpoint has no websocket. Default:
   * a third of the block time, clamped to 1-4 s (1 s on the dev chain, 4 s on Ethereum): often
   * enough to wake the scan loop within a fraction of a block, rare enough to stay far below
   * providers' rate limits.
   */
  pollIntervalMs?: number;
  /** Parallel eth_getTransactionReceipt calls when the endpoint has no eth_getBlockReceipts. */
  receiptConcurrency?: number;
  /** Which tracing API the endpoints speak; both give the same indexes. Default callTracer. */
  traceMethod?: 'debug_traceBlockByNumber' | 'trace_block';
  /** Opens the newHeads websocket; replaceable in tests. Default: the `ws` package. */
  openSocket?: (url: string) => HeadSocket;
}

/** The part of a WebSocket the head subscription needs (the `ws` package and browsers agree on it). */
export interface HeadSocket {
  send(data: string): void;
  close(): void;
  addEventListener(type: 'open' | 'close' | 'error', listener: () => void): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
}

const hex = (n: number) => `0x${n.toString(16)}`;

/**
 * Reads one EVM network for the tracker. Read-only, so every method is idempotent. Endpoint
 * capabilities (block receipts, tracing) are used only when every configured endpoint has them:
 * the transport fails over silently, and a call that one endpoint answers and the next does not
 * would make a block's transfers depend on which endpoint answered.
 */
export class EvmWatcher implements ChainWatcher {
  private readonly registry: TokenRegistry;
  private blockReceipts: boolean;
  private readonly tracing: boolean;
  private readonly wsUrl: string | undefined;
  private readonly pollIntervalMs: number;
  private readonly receiptConcurrency: number;
  private readonly traceMethod: NonNullable<EvmWatcherOptions['traceMethod']>;
  private readonly stops = new Set<() => void>();

  constructor(
    readonly network: NetworkConfig,
    private readonly transport: RpcTransport,
    private readonly opts: EvmWatcherOptions = {},
  ) {
    if (network.family !== 'EVM') throw new Error(`EvmWatcher cannot watch ${network.family} network ${network.id}`);
    this.registry = tokenRegistry(network);
    const all = (flag: 'supportsBlockReceipts' | 'supportsTracing') => network.rpc.length > 0 && network.rpc.every((e) => e[flag] === true);
    this.blockReceipts = all('supportsBlockReceipts');
    this.tracing = all('supportsTracing');
    this.wsUrl = network.rpc.find((e) => e.wsUrl)?.wsUrl;
    this.pollIntervalMs = opts.pollIntervalMs ?? Math.min(4_000, Math.max(1_000, Math.round((network.blockTimeSeconds * 1000) / 3)));
    this.receiptConcurrency = Math.max(1, opts.receiptConcurrency ?? 8);
    this.traceMethod = opts.traceMethod ?? 'debug_traceBlockByNumber';
  }

  /** Called every poll / on each new-head notification. Idempotent. */
  async getTipHeight(): Promise<number> {
    return Number(await this.transport.call<string>('eth_blockNumber'));
  }

  /** Called by the scan loop before reading a block, to check continuity. Idempotent; null above the tip. */
  async getBlockRef(height: number): Promise<BlockRef | null> {
    const block = await this.transport.call<RawBlock<string> | null>('eth_getBlockByNumber', [hex(height), false]);
    if (!block) return null;
    return { height: Number(block.number), hash: block.hash.toLowerCase(), parentHash: block.parentHash.toLowerCase(), timestamp: Number(block.timestamp) };
  }

  /**
   * Called once per block the scan loop advances over. Idempotent: a re-read of the same block
   * hash gives the same transfers with the same indexes. Receipts and traces are matched to the
   * block's hash, so a reorg between the calls is an error (transient) and never a mix of two
   * branches.
   */
  async getBlockTransfers(height: number): Promise<BlockWithTransfers> {
    const block = await this.transport.call<RawBlock | null>('eth_getBlockByNumber', [hex(height), true]);
    if (!block) throw new ChainError(`${this.network.id}: block ${height} not found (not yet produced, or the node lags)`, true);
    const [receipts, internal] = await Promise.all([this.receiptsOf(block), this.tracing ? this.internalTransfersOf(block) : undefined]);
    return extractBlockTransfers(this.network, { block, receipts, internal }, this.registry);
  }

  /**
   * Called on every poll. EVM nodes keep no mempool we can rely on: public providers hide or
   * rate-limit txpool access, and a pending transaction carries no receipt, so neither token
   * transfers (logs) nor success can be known before it is mined. Blocks come every few seconds,
   * so waiting for them costs little.
   */
  async getMempoolTransfers(): Promise<Transfer[]> {
    return [];
  }

  /**
   * Called for a transaction that has not confirmed after a while. Idempotent. 'confirmed' means
   * included in a block, whatever its receipt status: a reverted transaction is final too (and
   * credits nothing). Without a receipt, a transaction the node still knows is 'pending';
   * one it has forgotten was dropped or replaced.
   */
  async getTransactionStatus(txHash: string): Promise<{ state: 'pending' | 'dropped' } | { state: 'confirmed'; blockHeight: number; blockHash: string }> {
    const receipt = await this.transport.call<RawReceipt | null>('eth_getTransactionReceipt', [txHash]);
    if (receipt?.blockHash) return { state: 'confirmed', blockHeight: Number(receipt.blockNumber), blockHash: receipt.blockHash.toLowerCase() };
    const tx = await this.transport.call<unknown>('eth_getTransactionByHash', [txHash]);
    return { state: tx ? 'pending' : 'dropped' };
  }

  /**
   * Wake-ups for the scan loop: a websocket newHeads subscription when an endpoint has `wsUrl`,
   * otherwise eth_blockNumber polled every `pollIntervalMs` (reporting only changes). Errors
   * never reach the caller: the scan loop polls on its own, so a dead socket or a failed poll just
   * means fewer wake-ups (the socket reconnects with backoff). May fire more than once per
   * height. Called once by the tracker at start; each call adds a subscription, and the returned
   * unsubscribe function is idempotent.
   */
  onNewHead(callback: (height: number) => void): () => void {
    const stop = this.wsUrl ? this.subscribeHeads(this.wsUrl, callback) : this.pollHeads(callback);
    let stopped = false;
    const unsubscribe = () => {
      if (stopped) return;
      stopped = true;
      this.stops.delete(unsubscribe);
      stop();
    };
    this.stops.add(unsubscribe);
    return unsubscribe;
  }

  /** Called at shutdown: stops every head subscription. Idempotent. The transport is the caller's and stays open. */
  async close(): Promise<void> {
    for (const stop of [...this.stops]) stop();
  }

  private async receiptsOf(block: RawBlock): Promise<RawReceipt[]> {
    if (block.transactions.length === 0) return [];
    if (this.blockReceipts) {
      try {
        const receipts = await this.transport.call<RawReceipt[] | null>('eth_getBlockReceipts', [block.number]);
        if (receipts) return receipts;
      } catch (err) {
        if (!(err instanceof ChainError) || err.transient || !isMethodMissing(err)) throw err;
        // Configured but not served: per-transaction receipts give the same result, only slower.
        this.blockReceipts = false;
      }
    }
    const out: RawReceipt[] = new Array(block.transactions.length);
    let next = 0;
    const worker = async () => {
      while (next < block.transactions.length) {
        const i = next++;
        const hash = block.transactions[i]!.hash;
        const receipt = await this.transport.call<RawReceipt | null>('eth_getTransactionReceipt', [hash]);
        if (!receipt) throw new ChainError(`${this.network.id}: no receipt yet for ${hash} in block ${Number(block.number)}`, true);
        out[i] = receipt;
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.receiptConcurrency, block.transactions.length) }, worker));
    return out;
  }

  private async internalTransfersOf(block: RawBlock): Promise<Map<string, InternalTransfer[]> | undefined> {
    if (block.transactions.length === 0) return undefined;
    if (this.traceMethod === 'trace_block') {
      const traces = await this.transport.call<ParityTrace[]>('trace_block', [block.number]);
      const other = traces.find((t) => t.blockHash && t.blockHash.toLowerCase() !== block.hash.toLowerCase());
      if (other) throw new ChainError(`${this.network.id}: traces of block ${Number(block.number)} belong to ${other.blockHash} (reorg while reading)`, true);
      return internalTransfersFromParityTraces(traces);
    }
    const traces = await this.transport.call<CallTraceResult[]>('debug_traceBlockByNumber', [block.number, { tracer: 'callTracer' }]);
    return internalTransfersFromCallTraces(block, traces);
  }

  private pollHeads(callback: (height: number) => void): () => void {
    let last = -1;
    let timer: NodeJS.Timeout | undefined;
    let stopped = false;
    const tick = async () => {
      try {
        const height = await this.getTipHeight();
        if (!stopped && height !== last) {
          last = height;
          callback(height);
        }
      } catch {
        // A chain outage degrades only this chain: the next tick tries again.
      }
      if (!stopped) timer = setTimeout(tick, this.pollIntervalMs);
    };
    void tick();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }

  private subscribeHeads(url: string, callback: (height: number) => void): () => void {
    const open = this.opts.openSocket ?? defaultSocket;
    let socket: HeadSocket | undefined;
    let stopped = false;
    let retryMs = 1_000;
    let timer: NodeJS.Timeout | undefined;
    const connect = () => {
      if (stopped) return;
      try {
        socket = open(url);
      } catch {
        timer = setTimeout(connect, retryMs);
        return;
      }
      const s = socket;
      s.addEventListener('open', () => {
        retryMs = 1_000;
        s.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_subscribe', params: ['newHeads'] }));
      });
      s.addEventListener('message', (event) => {
        try {
          const msg = JSON.parse(String(event.data)) as { method?: string; params?: { result?: { number?: string } } };
          const number = msg.method === 'eth_subscription' ? msg.params?.result?.number : undefined;
          if (number && !stopped) callback(Number(number));
        } catch {
          /* not ours to judge: the scan loop polls anyway */
        }
      });
      s.addEventListener('error', () => undefined);
      s.addEventListener('close', () => {
        if (stopped) return;
        timer = setTimeout(connect, retryMs);
        retryMs = Math.min(retryMs * 2, 30_000);
      });
    };
    connect();
    return () => {
      stopped = true;
      clearTimeout(timer);
      try {
        socket?.close();
      } catch {
        /* already closed */
      }
    };
  }
}

function isMethodMissing(err: ChainError): boolean {
  const code = (err.cause as { code?: number } | undefined)?.code;
  return code === -32601 || /method not found|not supported|does not exist|unsupported/i.test(err.message);
}

function defaultSocket(url: string): HeadSocket {
  // Loaded only when an endpoint has a wsUrl: Node 20 has no global WebSocket, and the dev chain
  // and most deployments poll. `ws` is installed for the gateway; shared should declare it too.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const WebSocket = require('ws') as new (url: string) => HeadSocket;
  return new WebSocket(url);
}
