import type { FeeQuote, NetworkConfig, TransferOrder } from '../types';
import { decodeAddress, paramsOf } from './address';
import { BitcoinSignerError } from './errors';
import { dustThreshold, feeAtRate, formatRate, txVsize } from './fees';

/**
 * What building a Bitcoin-family payment needs before any key is involved: the orders as
 * output scripts, coin selection at a fee rate, and the fee quote a selection gives. Pure; used
 * by the single-key signer and by multisig PSBT building.
 */

/**
 * Sequence that opts in to BIP125, so a stuck withdrawal can be fee-bumped where replacements
 * relay (Bitcoin). Litecoin Core 0.21 refuses every replacement unless run with
 * -mempoolreplacement=1, so on Litecoin a stuck transaction needs CPFP instead.
 */
export const RBF_SEQUENCE = 0xfffffffd;

export interface Utxo {
  txid: string;
  vout: number;
  value: bigint;
  /** The output script being spent (what the signature commits to under BIP143). */
  script: Uint8Array;
}

export interface Selection {
  inputs: Utxo[];
  /** 0n when the remainder was too small for a change output and went to the fee. */
  change: bigint;
  fee: bigint;
  vsize: number;
}

/**
 * Largest-first coin selection: fewest inputs, so the fewest signatures and the smallest fee,
 * at the price of some privacy that a custodial hot wallet does not have anyway.
 */
export function selectCoins(args: {
  utxos: Utxo[];
  outputs: { script: Uint8Array; value: bigint }[];
  changeScript: Uint8Array;
  satPerKvB: bigint;
  inputWeight: number;
  dustRelaySatPerKvB: bigint;
}): Selection | null {
  const sorted = [...args.utxos].sort((a, b) => (a.value === b.value ? 0 : a.value > b.value ? -1 : 1));
  const target = args.outputs.reduce((s, o) => s + o.value, 0n);
  const lengths = args.outputs.map((o) => o.script.length);
  const changeDust = dustThreshold(args.changeScript, args.dustRelaySatPerKvB);
  const chosen: Utxo[] = [];
  let total = 0n;
  for (const u of sorted) {
    chosen.push(u);
    total += u.value;
    const withChange = txVsize(args.inputWeight * chosen.length, chosen.length, [...lengths, args.changeScript.length]);
    const feeWithChange = feeAtRate(withChange, args.satPerKvB);
    const change = total - target - feeWithChange;
    if (change >= changeDust) return { inputs: chosen, change, fee: feeWithChange, vsize: withChange };
    const noChange = txVsize(args.inputWeight * chosen.length, chosen.length, lengths);
    const feeNoChange = feeAtRate(noChange, args.satPerKvB);
    if (total >= target + feeNoChange) return { inputs: chosen, change: 0n, fee: total - target, vsize: noChange };
  }
  return null;
}

/** The orders as outputs of `network`: one coin (the native one), valid addresses, nothing below the dust threshold. */
export function resolveOrders(network: NetworkConfig, orders: TransferOrder[], dustRelaySatPerKvB: bigint): { script: Uint8Array; value: bigint }[] {
  if (orders.length === 0) throw new BitcoinSignerError('a transaction needs at least one order', 'BAD_USER_INPUT');
  const params = paramsOf(network);
  return orders.map((o, i) => {
    if (o.coinId !== network.nativeCoin.id) throw new BitcoinSignerError(`order ${i}: coin ${o.coinId} is not ${network.nativeCoin.id}`, 'BAD_USER_INPUT');
    const d = decodeAddress(params, o.to);
    if (!d.ok) throw new BitcoinSignerError(`order ${i}: address is not valid on ${network.id}: ${d.reason}`, 'BAD_USER_INPUT');
    const dust = dustThreshold(d.script, dustRelaySatPerKvB);
    if (o.amount < dust)
      throw new BitcoinSignerError(`order ${i}: ${o.amount} base units is dust on ${network.id} (at least ${dust} needed)`, 'BAD_USER_INPUT');
    return { script: d.script, value: o.amount };
  });
}

/** The fee quote of a selection, with the figures that made it. */
export function selectionQuote(sel: Selection, satPerKvB: bigint, extra: Record<string, string> = {}): FeeQuote {
  return {
    fee: sel.fee,
    detail: { satPerVByte: formatRate(satPerKvB), vsize: String(sel.vsize), inputs: String(sel.inputs.length), change: sel.change.toString(), ...extra },
  };
}

export function insufficient(address: string, need: bigint, have: bigint): BitcoinSignerError {
  return new BitcoinSignerError(`insufficient funds at ${address}: spendable ${have}, needed at least ${need} plus fee`, 'INSUFFICIENT_FUNDS');
}
