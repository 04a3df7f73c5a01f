import { ChainError, type FeeQuote, type NetworkConfig, type RpcTransport } from '../types';
import type { FeeHistory, RawBlock } from './raw';

/**
 * The EVM fee estimator, the one both the signer (withdrawals) and the collector (sweep
 * planning) use: EIP-1559 fee parameters read from the node, the gas of the transfers we send
 * when the node cannot simulate them, and the quote of a gas limit at those fees. Fees are taken
 * at the max fee per gas, so every figure is an upper bound.
 */

const GWEI = 1_000_000_000n;
/**
 * Lowest tip we offer, per chain id. Nodes report a zero tip in quiet periods, and a
 * transaction with no tip can sit unmined once activity returns. Polygon's validators refuse
 * tips below 25 gwei; BSC has no base fee, so the tip is the whole gas price and must meet its
 * validators' minimum; Arbitrum ignores tips.
 */
const PRIORITY_FEE_FLOOR: Record<number, bigint> = { 137: 30n * GWEI, 56: GWEI / 10n, 42161: 0n };
const DEFAULT_PRIORITY_FEE_FLOOR = GWEI / 100n;

/** Gas of a native transfer to an EOA. */
export const NATIVE_TRANSFER_GAS = 21_000n;
/** A token transfer to a fresh holder writes a new balance slot: ~52k gas; 70k leaves room. */
export const TOKEN_TRANSFER_GAS = 70_000n;

export interface EvmFees {
  /** Base fee of the next block. */
  baseFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
  /** Twice the next base fee plus the tip: stays valid through six full blocks in a row. */
  maxFeePerGas: bigint;
}

export interface EvmFeeOptions {
  /** Tip floor in wei; default per chain (see PRIORITY_FEE_FLOOR). */
  minPriorityFeePerGas?: bigint;
  /** Blocks of eth_feeHistory the tip is taken from (median of their median tips). Default 10. */
  feeHistoryBlocks?: number;
}

/** The tip floor of `network`, or the configured one. */
export function tipFloorOf(network: NetworkConfig, override?: bigint): bigint {
  return override ?? PRIORITY_FEE_FLOOR[network.chainId] ?? DEFAULT_PRIORITY_FEE_FLOOR;
}

const hex = (n: bigint | number) => `0x${n.toString(16)}`;

/**
 * Called by the signer before every estimate and signature and by the collector before it
 * plans: fee parameters from eth_feeHistory (tip: median of recent blocks' median tips), floor
 * applied. Read-only, idempotent.
 */
export async function readEvmFees(network: NetworkConfig, transport: Pick<RpcTransport, 'call'>, opts: EvmFeeOptions = {}): Promise<EvmFees> {
  const blocks = opts.feeHistoryBlocks ?? 10;
  let history: FeeHistory | null = null;
  try {
    history = await transport.call<FeeHistory>('eth_feeHistory', [hex(blocks), 'latest', [50]]);
  } catch (err) {
    if (!(err instanceof ChainError) || err.transient) throw err;
  }
  let baseFee: bigint;
  if (history?.baseFeePerGas?.length) {
    // The list has one more entry than blocks asked: the last is the next block's base fee.
    baseFee = BigInt(history.baseFeePerGas[history.baseFeePerGas.length - 1]!);
  } else {
    const latest = await transport.call<RawBlock<string>>('eth_getBlockByNumber', ['latest', false]);
    baseFee = latest.baseFeePerGas ? BigInt(latest.baseFeePerGas) : 0n;
  }
  // Empty blocks report a zero tip that says nothing about what inclusion costs: skip them.
  const tips = (history?.reward ?? [])
    .filter((row, i) => row.length > 0 && (history!.gasUsedRatio[i] ?? 0) > 0)
    .map((row) => BigInt(row[0]!))
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  let tip: bigint;
  if (tips.length) tip = tips[Math.floor(tips.length / 2)]!;
  else {
    try {
      tip = BigInt(await transport.call<string>('eth_maxPriorityFeePerGas'));
    } catch (err) {
      if (!(err instanceof ChainError) || err.transient) throw err;
      tip = 0n;
    }
  }
  const floor = tipFloorOf(network, opts.minPriorityFeePerGas);
  if (tip < floor) tip = floor;
  return { baseFeePerGas: baseFee, maxPriorityFeePerGas: tip, maxFeePerGas: baseFee * 2n + tip };
}

/** The quote of `gasLimit` at `fees`: the upper bound, and detail.expectedFee at today's base fee. */
export function gasQuote(gasLimit: bigint, fees: EvmFees): FeeQuote {
  return {
    fee: gasLimit * fees.maxFeePerGas,
    detail: {
      gasLimit: gasLimit.toString(),
      maxFeePerGas: fees.maxFeePerGas.toString(),
      maxPriorityFeePerGas: fees.maxPriorityFeePerGas.toString(),
      baseFeePerGas: fees.baseFeePerGas.toString(),
      expectedFee: (gasLimit * (fees.baseFeePerGas + fees.maxPriorityFeePerGas)).toString(),
    },
  };
}

export type EvmTxShape = 'native' | 'token' | 'batch-native' | 'batch-token' | 'call' | 'deploy';

/**
 * Upper-bound gas when the node cannot simulate: each recipient may be a fresh account (25000
 * extra for value sent to an empty account) or a fresh token balance slot (a 20000 SSTORE).
 */
export function roughGas(shape: EvmTxShape, count: number): bigint {
  const n = BigInt(count);
  switch (shape) {
    case 'native':
      return NATIVE_TRANSFER_GAS;
    case 'token':
      return TOKEN_TRANSFER_GAS;
    case 'batch-native':
      return 40_000n + 40_000n * n;
    case 'batch-token':
      return 45_000n + 40_000n * n;
    default:
      return 500_000n;
  }
}
