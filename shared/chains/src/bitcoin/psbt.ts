import { createHash } from 'node:crypto';
import { Psbt, type Transaction, payments } from 'bitcoinjs-lib';
import * as ecc from 'tiny-secp256k1';
import type { FeeQuote, NetworkConfig, TransferOrder } from '../types';
import { bitcoinjsNetwork, decodeAddress, p2wshAddressOfHash, paramsOf } from './address';
import { BitcoinSignerError } from './errors';
import { defaultDustRelayFeeRate, multisigInputWeight, satPerKvBOf } from './fees';
import { RBF_SEQUENCE, type Utxo, insufficient, resolveOrders, selectCoins, selectionQuote } from './tx-build';

/**
 * P2WSH m-of-n multisig spends, everything but the signing: the address of a key set, the
 * unsigned PSBT the cosigners sign (offline, each with its own key: BitcoinSigner's
 * signMultisigPsbt), combining their copies, counting valid signatures and finalising. No key
 * ever passes through here.
 */

export interface MultisigWallet {
  m: number;
  n: number;
  /** Compressed public keys (hex) in script order. */
  pubkeys: string[];
  /** OP_m <pubkeys> OP_n OP_CHECKMULTISIG (hex). */
  witnessScript: string;
  address: string;
}

const MAX_MULTISIG_KEYS = 20;

/**
 * The P2WSH address of an m-of-n key set. Keys are sorted (BIP67) unless told otherwise, so
 * every cosigner computes the same address whatever order the keys were listed in. Pure.
 */
export function createMultisig(network: NetworkConfig, m: number, pubkeys: (string | Uint8Array)[], opts: { sortKeys?: boolean } = {}): MultisigWallet {
  const params = paramsOf(network);
  const keys = pubkeys.map((k) => (typeof k === 'string' ? Buffer.from(k, 'hex') : Buffer.from(k)));
  const n = keys.length;
  if (n < 1 || n > MAX_MULTISIG_KEYS) throw new BitcoinSignerError(`a multisig needs 1 to ${MAX_MULTISIG_KEYS} keys, got ${n}`, 'BAD_USER_INPUT');
  if (!Number.isInteger(m) || m < 1 || m > n) throw new BitcoinSignerError(`m must be between 1 and ${n}, got ${m}`, 'BAD_USER_INPUT');
  for (const k of keys)
    if (k.length !== 33 || !ecc.isPoint(k)) throw new BitcoinSignerError('multisig keys must be compressed secp256k1 public keys', 'BAD_USER_INPUT');
  if (new Set(keys.map((k) => k.toString('hex'))).size !== n) throw new BitcoinSignerError('multisig keys must be distinct', 'BAD_USER_INPUT');
  if (opts.sortKeys ?? true) keys.sort(Buffer.compare);
  const script = payments.p2ms({ m, pubkeys: keys, network: bitcoinjsNetwork(network) }).output!;
  return { m, n, pubkeys: keys.map((k) => k.toString('hex')), witnessScript: hex(script), address: p2wshAddressOfHash(params, sha256(script)) };
}

/**
 * An unsigned PSBT paying `orders` from the multisig's `utxos`, change back to the multisig (or
 * `changeAddress`). Each input carries its witness UTXO and witness script, so cosigners can
 * sign offline. Pure; `satPerKvB` as from BitcoinSigner.feeRate().
 */
export function buildMultisigPsbt(
  network: NetworkConfig,
  wallet: MultisigWallet,
  utxos: Utxo[],
  orders: TransferOrder[],
  satPerKvB: bigint,
  opts: { changeAddress?: string; dustRelayFeeRate?: number } = {},
): { psbt: string; fee: FeeQuote } {
  const params = paramsOf(network);
  const dustRelay = satPerKvBOf(opts.dustRelayFeeRate ?? defaultDustRelayFeeRate(network));
  const outputs = resolveOrders(network, orders, dustRelay);
  const change = decodeAddress(params, opts.changeAddress ?? wallet.address);
  if (!change.ok) throw new BitcoinSignerError(`change address is not valid on ${network.id}: ${change.reason}`, 'BAD_USER_INPUT');
  const witnessScript = Buffer.from(wallet.witnessScript, 'hex');
  const ownScript = decodeAddress(params, wallet.address);
  if (!ownScript.ok || hex(ownScript.program) !== hex(sha256(witnessScript)))
    throw new BitcoinSignerError('the multisig address does not match its witness script', 'BAD_USER_INPUT');
  const sel = selectCoins({
    utxos,
    outputs,
    changeScript: change.script,
    satPerKvB,
    inputWeight: multisigInputWeight(wallet.m, witnessScript.length),
    dustRelaySatPerKvB: dustRelay,
  });
  if (!sel)
    throw insufficient(
      wallet.address,
      outputs.reduce((s, o) => s + o.value, 0n),
      utxos.reduce((s, u) => s + u.value, 0n),
    );
  const psbt = new Psbt({ network: bitcoinjsNetwork(network) });
  for (const u of sel.inputs) {
    if (hex(u.script) !== hex(ownScript.script)) throw new BitcoinSignerError(`output ${u.txid}:${u.vout} does not belong to the multisig`, 'BAD_USER_INPUT');
    psbt.addInput({ hash: u.txid, index: u.vout, sequence: RBF_SEQUENCE, witnessUtxo: { script: u.script, value: u.value }, witnessScript });
  }
  for (const o of outputs) psbt.addOutput({ script: o.script, value: o.value });
  if (sel.change > 0n) psbt.addOutput({ script: change.script, value: sel.change });
  return { psbt: psbt.toBase64(), fee: selectionQuote(sel, satPerKvB, { m: String(wallet.m), n: String(wallet.n) }) };
}

export function multisigOf(script: Uint8Array): { m: number; pubkeys: Uint8Array[] } {
  const p = payments.p2ms({ output: script });
  return { m: p.m!, pubkeys: p.pubkeys! };
}

/** Valid signatures per input, for showing progress ("1 of 2 signed"). Pure. */
export function multisigSignatureCounts(network: NetworkConfig, psbtBase64: string): { have: number; need: number }[] {
  const psbt = Psbt.fromBase64(psbtBase64, { network: bitcoinjsNetwork(network) });
  return psbt.data.inputs.map((_, i) => ({ have: validSignatures(psbt, i).length, need: multisigOf(psbt.data.inputs[i]!.witnessScript!).m }));
}

/** Merges cosigners' copies of one PSBT (each signed separately). Pure. */
export function combineMultisigPsbts(network: NetworkConfig, psbts: string[]): string {
  const net = bitcoinjsNetwork(network);
  const [first, ...rest] = psbts.map((p) => Psbt.fromBase64(p, { network: net }));
  if (!first) throw new BitcoinSignerError('nothing to combine', 'BAD_USER_INPUT');
  if (rest.length) first.combine(...rest);
  return first.toBase64();
}

/** Signatures that verify, in witness-script key order (the order OP_CHECKMULTISIG needs). */
function validSignatures(psbt: Psbt, i: number): Uint8Array[] {
  const input = psbt.data.inputs[i]!;
  if (!input.witnessScript || !input.witnessUtxo) throw new BitcoinSignerError(`input ${i} is not a P2WSH multisig input`, 'BAD_USER_INPUT');
  const { pubkeys } = multisigOf(input.witnessScript);
  const sigs: Uint8Array[] = [];
  for (const pk of pubkeys) {
    const partial = input.partialSig?.find((s) => hex(s.pubkey) === hex(pk));
    if (!partial) continue;
    const ok = psbt.validateSignaturesOfInput(i, (pubkey, msghash, signature) => ecc.verify(msghash, pubkey, signature), partial.pubkey);
    if (ok) sigs.push(partial.signature);
  }
  return sigs;
}

function witnessStack(items: Uint8Array[]): Uint8Array {
  const parts: Buffer[] = [Buffer.from([items.length])];
  for (const it of items) {
    const len = it.length;
    parts.push(len < 0xfd ? Buffer.from([len]) : Buffer.from([0xfd, len & 0xff, len >> 8]));
    parts.push(Buffer.from(it));
  }
  return Buffer.concat(parts);
}

/**
 * Finalises once every input has m valid signatures and returns the transaction to broadcast.
 * Throws BitcoinSignerError('MULTISIG_INCOMPLETE') naming the first short input otherwise. Pure
 * and idempotent for the same PSBT.
 */
export function finalizeMultisigPsbt(network: NetworkConfig, psbtBase64: string): { txHash: string; raw: string } {
  const psbt = Psbt.fromBase64(psbtBase64, { network: bitcoinjsNetwork(network) });
  psbt.data.inputs.forEach((input, i) => {
    const sigs = validSignatures(psbt, i);
    const { m } = multisigOf(input.witnessScript!);
    if (sigs.length < m) throw new BitcoinSignerError(`input ${i} has ${sigs.length} of the ${m} signatures it needs; cannot finalise`, 'MULTISIG_INCOMPLETE');
    // Extra signatures are left out: OP_CHECKMULTISIG consumes exactly m (plus the dummy).
    psbt.finalizeInput(i, () => ({
      finalScriptSig: undefined,
      finalScriptWitness: witnessStack([new Uint8Array(0), ...sigs.slice(0, m), input.witnessScript!]),
    }));
  });
  const tx: Transaction = psbt.extractTransaction();
  return { txHash: tx.getId(), raw: tx.toHex() };
}

function sha256(data: Uint8Array): Buffer {
  return createHash('sha256').update(data).digest();
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}
