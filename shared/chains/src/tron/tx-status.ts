import { ChainError, type BlockRef, type NetworkConfig, type RpcTransport } from '../types';
import { isMissingPath, tronPost, type TronBlockJson, type TronTxInfoJson } from './protocol';

export type TronTxStatus = { state: 'pending' | 'dropped' } | { state: 'confirmed'; blockHeight: number; blockHash: string };

/** The pooled transport's fan-out (shared/chains/rpc), used when present. */
type FanOutTransport = RpcTransport & { postAll?: (path: string, body: unknown) => Promise<{ ok: boolean; result?: unknown }[]> };

const HASH64 = /^[0-9a-fA-F]{64}$/;

// The block and transaction reads of a Tron full node's HTTP API that both the tracker's watcher
// and the signer (status of its own withdrawals) need; the signer uses them through
// TronTxStatusReader, so it needs no watcher.

/**
 * The node's head block and its height. With a pooled transport every endpoint is asked and the
 * highest head wins, so one lagging node does not hold a reader back. Read-only, idempotent.
 */
export async function tronHeadBlock(transport: RpcTransport): Promise<{ height: number; block: TronBlockJson }> {
  const fanOut = (transport as FanOutTransport).postAll;
  let block: TronBlockJson | undefined;
  if (typeof fanOut === 'function') {
    const answers = await fanOut.call(transport, '/wallet/getnowblock', {});
    for (const a of answers) {
      const b = a.ok ? (a.result as TronBlockJson | null) : null;
      if (!b?.blockID || !b.block_header) continue;
      if (!block || (b.block_header.raw_data.number ?? 0) > (block.block_header!.raw_data.number ?? 0)) block = b;
    }
  } else {
    block = await tronPost<TronBlockJson>(transport, '/wallet/getnowblock', {});
  }
  if (!block?.blockID || !block.block_header) throw new ChainError('getnowblock returned no block (node starting?)', true);
  return { height: block.block_header.raw_data.number ?? 0, block };
}

/** The block at `height`, or null when the node has none there yet. Read-only, idempotent. */
export async function tronBlockAt(transport: RpcTransport, height: number): Promise<TronBlockJson | null> {
  if (!Number.isInteger(height) || height < 0) throw new Error(`invalid block height ${height}`);
  const block = await tronPost<TronBlockJson>(transport, '/wallet/getblockbynum', { num: height });
  if (!block.blockID || !block.block_header) return null;
  return block;
}

/** The reference of a block fetched for `height`; throws (transient) when the node answered another height. Pure. */
export function tronBlockRef(block: TronBlockJson, height: number): BlockRef {
  const raw = block.block_header!.raw_data;
  const number = raw.number ?? 0;
  if (number !== height) throw new ChainError(`asked for block ${height}, node answered block ${number}`, true);
  return { height, hash: block.blockID!, parentHash: raw.parentHash, timestamp: Math.floor((raw.timestamp ?? 0) / 1000) };
}

/**
 * Where a transaction stands. 'confirmed' means included in a block, even when its contract call
 * failed (the fee was paid). 'dropped' reflects one node's view (neither in a block nor in its
 * pending pool): act on it only after the transaction's raw_data.expiration has passed, when no
 * node can include it any more. `blockRef` reads the including block (the watcher passes its
 * caching reader). Read-only, idempotent.
 */
export async function tronTransactionStatus(
  transport: RpcTransport,
  txHash: string,
  blockRef: (height: number) => Promise<BlockRef | null>,
): Promise<TronTxStatus> {
  if (!HASH64.test(txHash)) throw new Error(`not a Tron transaction id: ${JSON.stringify(txHash)}`);
  const info = await tronPost<TronTxInfoJson>(transport, '/wallet/gettransactioninfobyid', { value: txHash.toLowerCase() });
  if (info.id && info.blockNumber !== undefined) {
    const ref = await blockRef(info.blockNumber);
    if (!ref) throw new ChainError(`block ${info.blockNumber} of ${txHash} is not served by the node`, true);
    return { state: 'confirmed', blockHeight: ref.height, blockHash: ref.hash };
  }
  try {
    const pending = await tronPost<{ txID?: string }>(transport, '/wallet/gettransactionfrompending', { value: txHash.toLowerCase() });
    return { state: pending.txID ? 'pending' : 'dropped' };
  } catch (err) {
    // Without the pending-pool endpoint nothing can be said beyond "not in a block yet".
    if (isMissingPath(err)) return { state: 'pending' };
    throw err;
  }
}

/** Tip and transaction status of one Tron network, for callers that do not scan blocks (the signer). */
export class TronTxStatusReader {
  constructor(
    readonly network: NetworkConfig,
    private readonly transport: RpcTransport,
  ) {
    if (network.family !== 'TRON') throw new Error(`TronTxStatusReader given ${network.family} network ${network.id}`);
  }

  /** Called for each status's depth. Read-only, idempotent. */
  async getTipHeight(): Promise<number> {
    return (await tronHeadBlock(this.transport)).height;
  }

  /** See tronTransactionStatus. Read-only, idempotent. */
  async getTransactionStatus(txHash: string): Promise<TronTxStatus> {
    return tronTransactionStatus(this.transport, txHash, async (height) => {
      const block = await tronBlockAt(this.transport, height);
      return block ? tronBlockRef(block, height) : null;
    });
  }
}
