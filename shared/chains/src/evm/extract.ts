import { ChainError, type BlockWithTransfers, type NetworkConfig, type Transfer } from '../types';
import { addressFromWord, toChecksumAddress } from './address';
import type { CallFrame, CallTraceResult, ParityTrace, RawBlock, RawReceipt } from './raw';

/**
 * Block + receipts (+ traces) -> normalised transfers. Pure, so it is specced on recorded mainnet
 * data and benchmarked against JSON.parse; the watcher only fetches and hands the JSON over.
 *
 * What counts as a transfer, and its index (unique per txHash and coin, the idempotency key):
 * - ERC-20 `Transfer` logs emitted by a registered token contract: index = the log's index in
 *   the block. Logs of unregistered contracts are ignored, whatever they call themselves;
 * - native value, at any depth of a successful transaction: index = INTERNAL_INDEX_BASE + the
 *   frame's pre-order position in the transaction's call tree (the transaction's own value is the
 *   top-level call, 0; its first child 1, that child's first child 2, ...), counting every frame,
 *   so the index depends only on the call tree, never on which frames happen to carry value.
 *   Native indexes start at INTERNAL_INDEX_BASE so they never meet a log index: one transaction
 *   paying ETH and, in the block's first log, a token to our addresses is two deposits, not one.
 * Zero amounts are skipped: they move nothing, and zero-value token transfers are the usual
 * vehicle of address-poisoning spam.
 */

export const ERC20_TRANSFER_TOPIC = '0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef';
export const INTERNAL_INDEX_BASE = 1_000_000;

/** Value moved by a contract below the top-level call; `position` is the pre-order frame index. */
export interface InternalTransfer {
  position: number;
  from: string;
  to: string;
  amount: bigint;
}

/** Lower-case contract address -> coin id, for the network's registered tokens. */
export type TokenRegistry = Map<string, string>;

export function tokenRegistry(network: NetworkConfig): TokenRegistry {
  const registry: TokenRegistry = new Map();
  for (const coin of network.coins) if (coin.contract) registry.set(coin.contract.toLowerCase(), coin.id);
  return registry;
}

// Frame types that move the native coin. DELEGATECALL and CALLCODE run foreign code with the
// caller's balance (callTracer still shows the caller's msg.value on them), STATICCALL cannot
// carry value: none of them pays anyone.
const VALUE_FRAMES = new Set(['CALL', 'CREATE', 'CREATE2', 'SELFDESTRUCT']);

/**
 * Internal transfers of one transaction from its callTracer tree. A frame with `error` reverted:
 * it and everything below it are skipped (their effects were undone), but they still take their
 * pre-order positions so that sibling indexes do not shift.
 */
export function internalTransfersFromCallFrame(root: CallFrame): InternalTransfer[] {
  const out: InternalTransfer[] = [];
  if (root.error) return out;
  let position = 0;
  const visit = (frame: CallFrame, reverted: boolean) => {
    const here = position++;
    const undone = reverted || Boolean(frame.error);
    if (!undone && here > 0 && frame.value && frame.to && VALUE_FRAMES.has(frame.type.toUpperCase())) {
      const amount = BigInt(frame.value);
      if (amount > 0n) out.push({ position: here, from: toChecksumAddress(frame.from), to: toChecksumAddress(frame.to), amount });
    }
    if (frame.calls) for (const child of frame.calls) visit(child, undone);
  };
  visit(root, false);
  return out;
}

/**
 * Internal transfers per transaction hash (lower case) from trace_block output, which lists
 * each transaction's frames in pre-order with their tree address. Failed frames are skipped with
 * everything under them (their traceAddress is a prefix of their children's).
 */
export function internalTransfersFromParityTraces(traces: ParityTrace[]): Map<string, InternalTransfer[]> {
  const byTx = new Map<string, InternalTransfer[]>();
  let currentTx: string | null = null;
  let position = 0;
  let failed: number[][] = [];
  for (const trace of traces) {
    if (!trace.transactionHash) continue; // block and uncle rewards
    const tx = trace.transactionHash.toLowerCase();
    if (tx !== currentTx) {
      currentTx = tx;
      position = 0;
      failed = [];
      byTx.set(tx, []);
    }
    const here = position++;
    const addr = trace.traceAddress;
    const underFailed = failed.some((prefix) => prefix.length <= addr.length && prefix.every((v, i) => addr[i] === v));
    if (trace.error) failed.push(addr);
    if (underFailed || trace.error || here === 0) continue;
    const moved = parityValueMove(trace);
    if (moved && moved.amount > 0n) byTx.get(tx)!.push({ position: here, ...moved });
  }
  return byTx;
}

function parityValueMove(trace: ParityTrace): { from: string; to: string; amount: bigint } | null {
  const a = trace.action;
  if (trace.type === 'call') {
    if ((a.callType ?? 'call') !== 'call' || !a.from || !a.to || !a.value) return null;
    return { from: toChecksumAddress(a.from), to: toChecksumAddress(a.to), amount: BigInt(a.value) };
  }
  if (trace.type === 'create') {
    const created = trace.result?.address;
    if (!a.from || !created || !a.value) return null;
    return { from: toChecksumAddress(a.from), to: toChecksumAddress(created), amount: BigInt(a.value) };
  }
  if (trace.type === 'suicide' || trace.type === 'selfdestruct') {
    if (!a.address || !a.refundAddress || !a.balance) return null;
    return { from: toChecksumAddress(a.address), to: toChecksumAddress(a.refundAddress), amount: BigInt(a.balance) };
  }
  return null;
}

/**
 * callTracer output for a block -> internal transfers per transaction hash. Entries come in
 * block order; newer nodes also name each entry's txHash, which is checked when present, since a
 * misaligned list would attribute value to the wrong transaction.
 */
export function internalTransfersFromCallTraces(block: RawBlock, traces: CallTraceResult[]): Map<string, InternalTransfer[]> {
  if (traces.length !== block.transactions.length) {
    throw new ChainError(`block ${block.hash}: ${traces.length} traces for ${block.transactions.length} transactions`, true);
  }
  const byTx = new Map<string, InternalTransfer[]>();
  for (let i = 0; i < traces.length; i++) {
    const tx = block.transactions[i]!.hash.toLowerCase();
    const entry = traces[i]!;
    if (entry.txHash && entry.txHash.toLowerCase() !== tx) throw new ChainError(`block ${block.hash}: trace ${i} is for ${entry.txHash}, expected ${tx}`, true);
    if (entry.error || !entry.result) throw new ChainError(`block ${block.hash}: tracing ${tx} failed: ${entry.error ?? 'no result'}`, true);
    byTx.set(tx, internalTransfersFromCallFrame(entry.result));
  }
  return byTx;
}

export interface ExtractInput {
  block: RawBlock;
  /** Every receipt of the block, in any order. */
  receipts: RawReceipt[];
  /** Internal transfers per lower-case tx hash; absent when the endpoint cannot trace. */
  internal?: Map<string, InternalTransfer[]>;
}

/**
 * Every transfer in the block of the network's coins, from successful transactions only.
 * Throws a transient ChainError when the pieces do not belong together (receipts of another
 * block after a reorg between calls, a missing receipt from a lagging node): reading again helps.
 */
export function extractBlockTransfers(network: NetworkConfig, input: ExtractInput, registry: TokenRegistry = tokenRegistry(network)): BlockWithTransfers {
  const { block, internal } = input;
  const blockHash = block.hash.toLowerCase();
  const height = Number(block.number);
  const receipts = new Map<string, RawReceipt>();
  for (const r of input.receipts) receipts.set(r.transactionHash.toLowerCase(), r);
  const native = network.nativeCoin.id;
  const networkId = network.id;
  const transfers: Transfer[] = [];
  // One object literal shape for every transfer keeps this loop monomorphic.
  const push = (txHash: string, index: number, from: string, to: string, coinId: string, amount: bigint) =>
    transfers.push({ network: networkId, txHash, index, from, to, coinId, amount, blockHeight: height, blockHash });

  for (const tx of block.transactions) {
    const txHash = tx.hash.toLowerCase();
    const receipt = receipts.get(txHash);
    if (!receipt) throw new ChainError(`block ${height} ${blockHash}: no receipt for ${txHash}`, true);
    if (receipt.blockHash !== block.hash && receipt.blockHash.toLowerCase() !== blockHash) {
      throw new ChainError(`block ${height}: receipt of ${txHash} belongs to block ${receipt.blockHash} (reorg while reading)`, true);
    }
    if (receipt.status !== '0x1') continue;

    if (tx.value !== '0x0') {
      const value = BigInt(tx.value);
      const to = tx.to ?? receipt.contractAddress;
      if (value > 0n && to) push(txHash, INTERNAL_INDEX_BASE, toChecksumAddress(tx.from), toChecksumAddress(to), native, value);
    }

    for (const log of receipt.logs) {
      if (log.removed) continue;
      const coinId = registry.get(log.address.toLowerCase());
      // Exactly three topics and one data word: the ERC-20 shape. ERC-721 uses the same event
      // signature with the token id as a fourth topic.
      if (coinId === undefined || log.topics.length !== 3 || log.data.length !== 66 || log.topics[0]!.toLowerCase() !== ERC20_TRANSFER_TOPIC) continue;
      const amount = BigInt(log.data);
      if (amount === 0n) continue;
      push(txHash, Number(log.logIndex), addressFromWord(log.topics[1]!), addressFromWord(log.topics[2]!), coinId, amount);
    }

    const moves = internal?.get(txHash);
    if (moves) for (const m of moves) push(txHash, INTERNAL_INDEX_BASE + m.position, m.from, m.to, native, m.amount);
  }
  return { height, hash: blockHash, parentHash: block.parentHash.toLowerCase(), timestamp: Number(block.timestamp), transfers };
}
