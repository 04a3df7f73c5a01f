import type { NetworkConfig, RpcTransport } from '../types';
import { coinsToSats } from './amount';

/**
 * The Bitcoin-family fee estimator, the one both the signer (withdrawals, multisig PSBTs) and the
 * collector (consolidation planning) use: transaction sizes per BIP141 weights, the fee at a rate
 * in sat per 1000 vB (as nodes quote it, always rounded up), the node's dust rule, and the rate
 * to pay read from the node. Pure apart from `estimateFeeRate`, which only reads.
 *
 * Sizes are taken with the largest DER signature (73 bytes with its sighash byte), so an
 * estimate never undershoots the real rate. A P2WPKH input weighs 4 x 41 (outpoint 36, empty
 * scriptSig length 1, sequence 4) + 109 (witness: item count 1, signature length 1 + 73, key
 * length 1 + 33) = 273 WU, i.e. 68.25 vB; a real signature is 71-72 bytes, so 68 vB is the floor
 * and what a node usually measures.
 */

/** Largest DER signature plus its sighash byte. */
export const MAX_SIG_BYTES = 73;
export const P2WPKH_INPUT_WEIGHT = 4 * (36 + 1 + 4) + (1 + 1 + MAX_SIG_BYTES + 1 + 33);
/** The per-input floor (with a 71-byte signature) a benchmark compares against. */
export const P2WPKH_INPUT_VBYTES_FLOOR = 67.75;
/** Script length of a P2WPKH output (OP_0 <20 bytes>). */
export const P2WPKH_SCRIPT_LENGTH = 22;

export function varintSize(n: number): number {
  return n < 0xfd ? 1 : n <= 0xffff ? 3 : 5;
}

/** Output script lengths: P2WPKH 22, P2WSH and P2TR 34, P2PKH 25, P2SH 23. */
export function outputScriptLength(kind: 'p2wpkh' | 'p2wsh' | 'p2tr' | 'p2pkh' | 'p2sh'): number {
  return { p2wpkh: P2WPKH_SCRIPT_LENGTH, p2wsh: 34, p2tr: 34, p2pkh: 25, p2sh: 23 }[kind];
}

/** Weight of one input spending a P2WSH m-of-n output (m signatures, the dummy, the witness script). */
export function multisigInputWeight(m: number, witnessScriptLength: number): number {
  const witness = 1 + 1 + m * (1 + MAX_SIG_BYTES) + varintSize(witnessScriptLength) + witnessScriptLength;
  return 4 * (36 + 1 + 4) + witness;
}

/** Virtual size of a segwit transaction: `nIn` inputs weighing `inputWeights` in total, outputs of the given script lengths. */
export function txVsize(inputWeights: number, nIn: number, outputScriptLengths: number[]): number {
  let w = 4 * (4 + 4 + varintSize(nIn) + varintSize(outputScriptLengths.length)) + 2 + inputWeights;
  for (const len of outputScriptLengths) w += 4 * (8 + varintSize(len) + len);
  return Math.ceil(w / 4);
}

/** Fee in satoshis for `vsize` at `satPerKvB`, rounded up. */
export function feeAtRate(vsize: number, satPerKvB: bigint): bigint {
  if (satPerKvB < 0n) throw new RangeError('fee rate must not be negative');
  return (BigInt(vsize) * satPerKvB + 999n) / 1000n;
}

/** Virtual size of a segwit transaction spending `inputs` P2WPKH outputs into outputs of the given script lengths. */
export function consolidationVsize(inputs: number, outputScriptLengths: number[]): number {
  if (!Number.isInteger(inputs) || inputs < 1) throw new RangeError(`inputs must be a positive integer, got ${inputs}`);
  if (outputScriptLengths.length < 1) throw new RangeError('a consolidation needs at least one output');
  return txVsize(inputs * P2WPKH_INPUT_WEIGHT, inputs, outputScriptLengths);
}

/** Virtual size of a plain P2WPKH spend: `inputs` P2WPKH inputs to `outputs` P2WPKH outputs (a withdrawal with change: 1 and 2, 141 vB). */
export function p2wpkhSpendVsize(inputs: number, outputs: number): number {
  return consolidationVsize(inputs, new Array<number>(outputs).fill(P2WPKH_SCRIPT_LENGTH));
}

/** Fee of a consolidation (P2WPKH inputs) at `satPerKvB`, rounded up. */
export function consolidationFee(inputs: number, outputScriptLengths: number[], satPerKvB: bigint): bigint {
  if (satPerKvB < 0n) throw new RangeError('fee rate must not be negative');
  return feeAtRate(consolidationVsize(inputs, outputScriptLengths), satPerKvB);
}

/** What one more P2WPKH input adds to the fee (its weight in vbytes, rounded up). */
export function marginalInputFee(satPerKvB: bigint): bigint {
  return (BigInt(P2WPKH_INPUT_WEIGHT) * satPerKvB + 3999n) / 4000n;
}

/**
 * Bitcoin Core's GetDustThreshold: what spending the output would cost at the dust relay fee.
 * The node refuses to relay a transaction with any output below it (2940 sat for P2WPKH on
 * Litecoin 0.21, checked with testmempoolaccept; 294 on Bitcoin Core).
 */
export function dustThreshold(script: Uint8Array, dustRelaySatPerKvB: bigint): bigint {
  const isWitness =
    script.length >= 4 && script.length <= 42 && (script[0] === 0x00 || (script[0]! >= 0x51 && script[0]! <= 0x60)) && script[1] === script.length - 2;
  const spendSize = isWitness ? 32 + 4 + 1 + Math.floor(107 / 4) + 4 : 32 + 4 + 1 + 107 + 4;
  const size = 8 + varintSize(script.length) + script.length + spendSize;
  return (BigInt(size) * dustRelaySatPerKvB) / 1000n;
}

/** The node's dust relay fee in sat/vB by default: Litecoin Core's is 30, ten times Bitcoin's 3. */
export function defaultDustRelayFeeRate(network: NetworkConfig): number {
  return network.uriScheme === 'litecoin' ? 30 : 3;
}

/** sat/vB (a decimal) as sat per 1000 vB. */
export function satPerKvBOf(satPerVByte: number): bigint {
  return BigInt(Math.round(satPerVByte * 1000));
}

/** The smallest P2WPKH output the network's nodes relay at their default dust relay fee. */
export function p2wpkhDustThreshold(network: NetworkConfig): bigint {
  const script = new Uint8Array(P2WPKH_SCRIPT_LENGTH);
  script[1] = P2WPKH_SCRIPT_LENGTH - 2;
  return dustThreshold(script, satPerKvBOf(defaultDustRelayFeeRate(network)));
}

/** sat/kvB as sat/vB text without trailing zeros ("12.5"), for fee details. */
export function formatRate(satPerKvB: bigint): string {
  const whole = satPerKvB / 1000n;
  const frac = (satPerKvB % 1000n).toString().padStart(3, '0').replace(/0+$/, '');
  return frac ? `${whole}.${frac}` : whole.toString();
}

export interface FeeRateOptions {
  /** Blocks within which the fee estimate should confirm. Default 6. */
  confTarget?: number;
  /** sat/vB used when the node has no estimate, as on regtest or a fresh node. Default 10. */
  fallbackFeeRate?: number;
  /** Lowest sat/vB ever used; the node's mempool minimum applies on top. Default 1. */
  minFeeRate?: number;
  /** Highest sat/vB ever used, against a runaway estimate. Default 2000. */
  maxFeeRate?: number;
}

export const DEFAULT_FEE_RATE_OPTIONS: Required<FeeRateOptions> = { confTarget: 6, fallbackFeeRate: 10, minFeeRate: 1, maxFeeRate: 2000 };

/**
 * Called by every estimate and signature, and by the collector before it plans; read-only,
 * idempotent. sat/kvB to pay: the node's estimate (BTC/kvB, converted exactly), or the fallback
 * when it has none, raised to the floor and the node's mempool minimum, capped at the maximum.
 */
export async function estimateFeeRate(transport: Pick<RpcTransport, 'call'>, options: FeeRateOptions = {}): Promise<bigint> {
  const d = DEFAULT_FEE_RATE_OPTIONS;
  const o = {
    confTarget: options.confTarget ?? d.confTarget,
    fallbackFeeRate: options.fallbackFeeRate ?? d.fallbackFeeRate,
    minFeeRate: options.minFeeRate ?? d.minFeeRate,
    maxFeeRate: options.maxFeeRate ?? d.maxFeeRate,
  };
  const [estimate, mempool] = await Promise.all([
    transport.call<{ feerate?: number; errors?: string[] }>('estimatesmartfee', [o.confTarget]),
    transport.call<{ mempoolminfee?: number }>('getmempoolinfo'),
  ]);
  let rate = estimate.feerate !== undefined && estimate.feerate > 0 ? coinsToSats(estimate.feerate) : satPerKvBOf(o.fallbackFeeRate);
  const floor = satPerKvBOf(o.minFeeRate);
  const mempoolFloor = mempool.mempoolminfee !== undefined ? coinsToSats(mempool.mempoolminfee) : 0n;
  if (rate < floor) rate = floor;
  if (rate < mempoolFloor) rate = mempoolFloor;
  const cap = satPerKvBOf(o.maxFeeRate);
  return rate > cap ? cap : rate;
}
