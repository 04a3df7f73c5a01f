import { Psbt, Transaction } from 'bitcoinjs-lib';
import type { NetworkConfig, RpcTransport, SigningKey } from '../types';
import { bitcoinjsNetwork, decodeAddress, paramsOf } from './address';
import { coinsToSats } from './amount';
import { type SignedReplacement, maxBig } from '../replacement';
import { ECPair } from './ecpair';
import { defaultDustRelayFeeRate, dustThreshold, feeAtRate, satPerKvBOf } from './fees';
import { RBF_SEQUENCE } from './tx-build';

/**
 * BIP125 replacement of a stuck P2WPKH payout (a fee bump): the same inputs and payee outputs, a
 * higher fee paid out of the change output, so at most one of the two can ever be mined. Building
 * and signing are pure; the caller reads the fee rate and the spent outputs (readPrevouts), holds
 * the key, and stores and broadcasts the result. Signs with a private key, so it is for the signer
 * alone, like ./signer. The node must relay replacements (Litecoin Core: -mempoolreplacement=1).
 */

/** The stored transaction to replace: its hash, signed bytes and the exact fee it pays. */
export interface ReplaceableBitcoinTx {
  txHash: string;
  raw: string;
  fee: bigint;
}

/** What the replacement will pay and where it takes it from. */
export interface BitcoinReplacementPlan {
  /** Output of the stuck transaction that pays the wallet its change, and pays the extra fee. */
  changeIndex: number;
  change: bigint;
  fee: bigint;
  satPerKvB: bigint;
  /** The outpoints the stuck transaction spends, in its order; the replacement spends the same. */
  inputs: { txid: string; index: number }[];
}

/** An output being spent, as the PSBT needs it to sign a segwit input. */
export interface Prevout {
  script: Uint8Array;
  value: bigint;
}

/** Its fee is exact: inputs minus outputs. */
export type BitcoinReplacement = SignedReplacement<{ satPerKvB: string; vsize: string; change: string }, null>;

function ownScriptOf(network: NetworkConfig, address: string): Uint8Array {
  const own = decodeAddress(paramsOf(network), address);
  if (!own.ok) throw new Error(`${address} is not an address of ${network.id}`);
  return own.script;
}

/**
 * The output of `raw` that pays `ownAddress` (the last one, as the change is added last); -1 when
 * there is none, and then the transaction cannot be bumped without new inputs (a different spend).
 */
export function changeOutputIndex(network: NetworkConfig, ownAddress: string, raw: string): number {
  const ownScript = Buffer.from(ownScriptOf(network, ownAddress)).toString('hex');
  return Transaction.fromHex(raw)
    .outs.map((o) => Buffer.from(o.script).toString('hex'))
    .lastIndexOf(ownScript);
}

/**
 * The fee rate raised by `percent` and to at least `currentSatPerKvB` (the node's estimate now),
 * and at least the old fee plus 1 sat/vB (BIP125 rule 4: the replacement pays for its own relay).
 * Null when there is no change output or the change would fall below dust: the transaction is
 * then left to confirm as it is.
 */
export function planBitcoinReplacement(
  network: NetworkConfig,
  ownAddress: string,
  tx: ReplaceableBitcoinTx,
  percent: number,
  currentSatPerKvB: bigint,
): BitcoinReplacementPlan | null {
  const old = Transaction.fromHex(tx.raw);
  const changeIndex = changeOutputIndex(network, ownAddress, tx.raw);
  if (changeIndex < 0) return null;
  const vsize = old.virtualSize() + 1; // a re-signed DER signature may be one byte longer
  const oldRate = (tx.fee * 1000n) / BigInt(old.virtualSize());
  const satPerKvB = maxBig((oldRate * BigInt(100 + percent)) / 100n + 1000n, currentSatPerKvB);
  const newFee = feeAtRate(vsize, satPerKvB);
  const fee = maxBig(newFee, tx.fee + BigInt(vsize));
  const change = BigInt(old.outs[changeIndex]!.value) - (fee - tx.fee);
  if (change < dustThreshold(ownScriptOf(network, ownAddress), satPerKvBOf(defaultDustRelayFeeRate(network)))) return null;
  const inputs = old.ins.map((i) => ({ txid: Buffer.from(i.hash).reverse().toString('hex'), index: i.index }));
  return { changeIndex, change, fee, satPerKvB, inputs };
}

/**
 * Reads the outputs `inputs` spend from the node (getrawtransaction, verbose; needs txindex or the
 * transactions in the mempool). Read-only.
 */
export async function readPrevouts(transport: RpcTransport, inputs: { txid: string; index: number }[]): Promise<Prevout[]> {
  const out: Prevout[] = [];
  for (const input of inputs) {
    const prev = await transport.call<{ vout: { n: number; value: number | string; scriptPubKey: { hex: string } }[] }>('getrawtransaction', [
      input.txid,
      true,
    ]);
    const v = prev.vout.find((o) => o.n === input.index);
    if (!v) throw new Error(`input ${input.txid}:${input.index} not found`);
    out.push({ script: Buffer.from(v.scriptPubKey.hex, 'hex'), value: coinsToSats(v.value) });
  }
  return out;
}

/** Signs the replacement `plan` describes; `prevouts` in the order of `plan.inputs`. Pure. */
export function signBitcoinReplacement(
  network: NetworkConfig,
  key: SigningKey,
  tx: ReplaceableBitcoinTx,
  plan: BitcoinReplacementPlan,
  prevouts: Prevout[],
): BitcoinReplacement {
  if (prevouts.length !== plan.inputs.length) throw new Error(`${plan.inputs.length} inputs but ${prevouts.length} spent outputs`);
  const net = bitcoinjsNetwork(network);
  const old = Transaction.fromHex(tx.raw);
  const psbt = new Psbt({ network: net });
  plan.inputs.forEach((input, i) =>
    psbt.addInput({
      hash: input.txid,
      index: input.index,
      sequence: RBF_SEQUENCE,
      witnessUtxo: { script: prevouts[i]!.script, value: prevouts[i]!.value },
    }),
  );
  old.outs.forEach((o, i) => psbt.addOutput({ script: o.script, value: i === plan.changeIndex ? plan.change : BigInt(o.value) }));
  const keyPair = ECPair.fromPrivateKey(key.privateKey, { network: net, compressed: true });
  psbt.signAllInputs(keyPair);
  psbt.finalizeAllInputs();
  const next = psbt.extractTransaction();
  return {
    txHash: next.getId(),
    raw: next.toHex(),
    fee: plan.fee,
    feeDetail: { satPerKvB: plan.satPerKvB.toString(), vsize: String(next.virtualSize()), change: plan.change.toString(), replaces: tx.txHash },
    nonce: null,
  };
}
