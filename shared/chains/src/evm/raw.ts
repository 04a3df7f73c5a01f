/**
 * The JSON shapes EVM nodes return, reduced to the fields this package reads. Quantities are
 * 0x-hex strings; they are turned into bigint (amounts) or number (heights, indexes) on use.
 */

export interface RawTransaction {
  hash: string;
  from: string;
  /** Null for contract creation. */
  to: string | null;
  value: string;
  input?: string;
  nonce?: string;
  type?: string;
}

export interface RawBlock<T = RawTransaction> {
  number: string;
  hash: string;
  parentHash: string;
  timestamp: string;
  baseFeePerGas?: string;
  transactions: T[];
}

export interface RawLog {
  address: string;
  topics: string[];
  data: string;
  logIndex: string;
  transactionHash: string;
  removed?: boolean;
}

export interface RawReceipt {
  transactionHash: string;
  blockHash: string;
  blockNumber: string;
  /** "0x1" success, "0x0" reverted (post-Byzantium; all chains we support). */
  status: string;
  from: string;
  to: string | null;
  contractAddress: string | null;
  gasUsed: string;
  effectiveGasPrice?: string;
  logs: RawLog[];
}

/** One frame of geth's callTracer output. */
export interface CallFrame {
  type: string;
  from: string;
  to?: string;
  value?: string;
  /** Present when this frame reverted (or ran out of gas): its effects, children included, are undone. */
  error?: string;
  calls?: CallFrame[];
}

/** debug_traceBlockByNumber(..., { tracer: 'callTracer' }): one entry per transaction, in block order. */
export interface CallTraceResult {
  txHash?: string;
  result?: CallFrame;
  error?: string;
}

/** One entry of Parity/OpenEthereum-style trace_block output (Erigon, Nethermind, Reth, anvil). */
export interface ParityTrace {
  type: string;
  action: { callType?: string; from?: string; to?: string; value?: string; address?: string; refundAddress?: string; balance?: string };
  result?: { address?: string } | null;
  error?: string;
  traceAddress: number[];
  transactionHash: string | null;
  transactionPosition: number | null;
  blockHash?: string;
}

export interface FeeHistory {
  oldestBlock: string;
  baseFeePerGas: string[];
  gasUsedRatio: number[];
  reward?: string[][];
}
