import { createHash } from 'node:crypto';
import { Psbt, Transaction, payments } from 'bitcoinjs-lib';
import { ECPairFactory } from 'ecpair';
import * as ecc from 'tiny-secp256k1';
import {
  ChainError,
  type ChainSigner,
  type FeeQuote,
  type NetworkConfig,
  type RpcTransport,
  type SignedTransaction,
  type SigningKey,
  type TransferOrder,
} from '../types';
import { coinsToSats } from './amount';
import { bitcoinjsNetwork, decodeAddress, p2wpkhAddressOfHash, p2wshAddressOfHash, paramsOf } from './address';
import { RPC_INVALID_PARAMETER, RPC_VERIFY_ALREADY_IN_CHAIN, rpcErrorCode } from './rpc';

/**
 * Builds, signs (through PSBTs) and broadcasts Bitcoin-family transactions from P2WPKH keys,
 * and runs P2WSH m-of-n multisig spends. Private keys arrive per call, are used in memory and
 * are never logged, stored or sent to the node: coins are found with `scantxoutset`, which
 * needs neither a wallet nor a key on the node.
 */

const ECPair = ECPairFactory(ecc);

export interface Utxo {
  txid: string;
  vout: number;
  value: bigint;
  /** The output script being spent (what the signature commits to under BIP143). */
  script: Uint8Array;
}

export interface BitcoinSignerOptions {
  /** Blocks within which the fee estimate should confirm. */
  confTarget?: number;
  /** sat/vB used when the node has no estimate, as on regtest or a fresh node. */
  fallbackFeeRate?: number;
  /** Lowest sat/vB ever used; the node's mempool minimum applies on top. */
  minFeeRate?: number;
  /** Highest sat/vB ever used, against a runaway estimate. */
  maxFeeRate?: number;
  /** The node's dust relay fee in sat/vB (Bitcoin Core's -dustrelayfee); defaults per chain. */
  dustRelayFeeRate?: number;
  /** Where spendable outputs come from; defaults to `scantxoutset` on the node. */
  utxoSource?: (address: string) => Promise<Utxo[]>;
}

/** A refusal that retrying cannot fix; `code` matches the API's error codes where one fits. */
export class BitcoinSignerError extends ChainError {
  constructor(
    message: string,
    readonly code: 'INSUFFICIENT_FUNDS' | 'BAD_USER_INPUT' | 'KEY_MISMATCH' | 'MULTISIG_INCOMPLETE',
  ) {
    super(message, false);
    this.name = 'BitcoinSignerError';
  }
}

// --- sizes and fees --------------------------------------------------------------------------

/**
 * Sequence that opts in to BIP125, so a stuck withdrawal can be fee-bumped where replacements
 * relay (Bitcoin). Litecoin Core 0.21 refuses every replacement unless run with
 * -mempoolreplacement=1, so on Litecoin a stuck transaction needs CPFP instead.
 */
const RBF_SEQUENCE = 0xfffffffd;
const COINBASE_MATURITY = 100;
/** Largest DER signature plus its sighash byte; estimating with it keeps the real rate at or above target. */
const MAX_SIG_BYTES = 73;
const P2WPKH_INPUT_WEIGHT = 4 * (36 + 1 + 4) + (1 + 1 + MAX_SIG_BYTES + 1 + 33);

function varintSize(n: number): number {
  return n < 0xfd ? 1 : n <= 0xffff ? 3 : 5;
}

function outputWeight(script: Uint8Array): number {
  return 4 * (8 + varintSize(script.length) + script.length);
}

function multisigInputWeight(m: number, witnessScriptLength: number): number {
  const witness = 1 + 1 + m * (1 + MAX_SIG_BYTES) + varintSize(witnessScriptLength) + witnessScriptLength;
  return 4 * (36 + 1 + 4) + witness;
}

function txVsize(inputWeights: number, nIn: number, outputs: Uint8Array[]): number {
  let w = 4 * (4 + 4 + varintSize(nIn) + varintSize(outputs.length)) + 2 + inputWeights;
  for (const s of outputs) w += outputWeight(s);
  return Math.ceil(w / 4);
}

function feeFor(vsize: number, satPerKvB: bigint): bigint {
  return (BigInt(vsize) * satPerKvB + 999n) / 1000n;
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

function defaultDustRelayFeeRate(network: NetworkConfig): number {
  // Litecoin Core's dust relay fee is 30 sat/vB, ten times Bitcoin's 3.
  return network.uriScheme === 'litecoin' ? 30 : 3;
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
  const scripts = args.outputs.map((o) => o.script);
  const changeDust = dustThreshold(args.changeScript, args.dustRelaySatPerKvB);
  const chosen: Utxo[] = [];
  let total = 0n;
  for (const u of sorted) {
    chosen.push(u);
    total += u.value;
    const withChange = txVsize(args.inputWeight * chosen.length, chosen.length, [...scripts, args.changeScript]);
    const feeWithChange = feeFor(withChange, args.satPerKvB);
    const change = total - target - feeWithChange;
    if (change >= changeDust) return { inputs: chosen, change, fee: feeWithChange, vsize: withChange };
    const noChange = txVsize(args.inputWeight * chosen.length, chosen.length, scripts);
    const feeNoChange = feeFor(noChange, args.satPerKvB);
    if (total >= target + feeNoChange) return { inputs: chosen, change: 0n, fee: total - target, vsize: noChange };
  }
  return null;
}

// --- helpers shared by single-key and multisig spends ---------------------------------------

function hash160(data: Uint8Array): Buffer {
  return createHash('ripemd160').update(createHash('sha256').update(data).digest()).digest();
}

function sha256(data: Uint8Array): Buffer {
  return createHash('sha256').update(data).digest();
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

function formatRate(satPerKvB: bigint): string {
  const whole = satPerKvB / 1000n;
  const frac = (satPerKvB % 1000n).toString().padStart(3, '0').replace(/0+$/, '');
  return frac ? `${whole}.${frac}` : whole.toString();
}

function resolveOrders(network: NetworkConfig, orders: TransferOrder[], dustRelaySatPerKvB: bigint): { script: Uint8Array; value: bigint }[] {
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

function feeQuote(sel: Selection, satPerKvB: bigint, extra: Record<string, string> = {}): FeeQuote {
  return {
    fee: sel.fee,
    detail: { satPerVByte: formatRate(satPerKvB), vsize: String(sel.vsize), inputs: String(sel.inputs.length), change: sel.change.toString(), ...extra },
  };
}

function insufficient(address: string, need: bigint, have: bigint): BitcoinSignerError {
  return new BitcoinSignerError(`insufficient funds at ${address}: spendable ${have}, needed at least ${need} plus fee`, 'INSUFFICIENT_FUNDS');
}

// --- the signer ------------------------------------------------------------------------------

export class BitcoinSigner implements ChainSigner {
  private readonly opts: Required<Omit<BitcoinSignerOptions, 'utxoSource'>> & Pick<BitcoinSignerOptions, 'utxoSource'>;
  /** The node runs one `scantxoutset` at a time; calls from this signer queue behind each other. */
  private scanQueue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly network: NetworkConfig,
    private readonly transport: RpcTransport,
    options: BitcoinSignerOptions = {},
  ) {
    paramsOf(network);
    this.opts = {
      confTarget: options.confTarget ?? 6,
      fallbackFeeRate: options.fallbackFeeRate ?? 10,
      minFeeRate: options.minFeeRate ?? 1,
      maxFeeRate: options.maxFeeRate ?? 2000,
      dustRelayFeeRate: options.dustRelayFeeRate ?? defaultDustRelayFeeRate(network),
      utxoSource: options.utxoSource,
    };
  }

  private get dustRelaySatPerKvB(): bigint {
    return BigInt(Math.round(this.opts.dustRelayFeeRate * 1000));
  }

  /**
   * Called by every estimate and signature (and by multisig PSBT builders); read-only,
   * idempotent. sat/kvB to pay: the node's estimate (BTC/kvB, converted exactly), or the
   * fallback when it has none, raised to the floor and the node's mempool minimum, capped at
   * the maximum.
   */
  async feeRate(): Promise<bigint> {
    const [estimate, mempool] = await Promise.all([
      this.transport.call<{ feerate?: number; errors?: string[] }>('estimatesmartfee', [this.opts.confTarget]),
      this.transport.call<{ mempoolminfee?: number }>('getmempoolinfo'),
    ]);
    let rate = estimate.feerate !== undefined && estimate.feerate > 0 ? coinsToSats(estimate.feerate) : BigInt(Math.round(this.opts.fallbackFeeRate * 1000));
    const floor = BigInt(Math.round(this.opts.minFeeRate * 1000));
    const mempoolFloor = mempool.mempoolminfee !== undefined ? coinsToSats(mempool.mempoolminfee) : 0n;
    if (rate < floor) rate = floor;
    if (rate < mempoolFloor) rate = mempoolFloor;
    const cap = BigInt(Math.round(this.opts.maxFeeRate * 1000));
    return rate > cap ? cap : rate;
  }

  /**
   * Called before every selection; read-only, idempotent. Confirmed, mature, not yet spent (not
   * even in the mempool) outputs paying `address`. Outputs of still-unconfirmed transactions,
   * our own change included, are not offered: a spend waits for the previous one's block.
   * `scantxoutset` walks the whole UTXO set: instant on regtest, minutes on a mainnet node,
   * where an indexer behind `utxoSource` is the better choice.
   */
  async spendableUtxos(address: string): Promise<Utxo[]> {
    const candidates = this.opts.utxoSource ? await this.opts.utxoSource(address) : await this.scan(address);
    const out: Utxo[] = [];
    for (const u of candidates) {
      // scantxoutset sees neither mempool spends nor coinbase maturity; gettxout sees both.
      const txout = await this.transport.call<{ confirmations: number; coinbase: boolean } | null>('gettxout', [u.txid, u.vout, true]);
      if (!txout) continue;
      if (txout.coinbase && txout.confirmations < COINBASE_MATURITY) continue;
      out.push(u);
    }
    return out;
  }

  private scan(address: string): Promise<Utxo[]> {
    const run = async (): Promise<Utxo[]> => {
      for (let attempt = 0; ; attempt++) {
        try {
          const res = await this.transport.call<{ success: boolean; unspents: { txid: string; vout: number; scriptPubKey: string; amount: number }[] }>(
            'scantxoutset',
            ['start', [`addr(${address})`]],
          );
          if (!res.success) throw new ChainError('scantxoutset did not complete', true);
          return res.unspents.map((u) => ({ txid: u.txid, vout: u.vout, value: coinsToSats(u.amount), script: Buffer.from(u.scriptPubKey, 'hex') }));
        } catch (err) {
          // Another process's scan holds the node's single scan slot.
          if (rpcErrorCode(err) === RPC_INVALID_PARAMETER && /in progress/i.test((err as Error).message) && attempt < 20) {
            await new Promise((r) => setTimeout(r, 250));
            continue;
          }
          throw err;
        }
      }
    };
    const next = this.scanQueue.then(run, run);
    this.scanQueue = next.catch(() => undefined);
    return next;
  }

  /**
   * Called before a withdrawal is queued and for estimates; read-only and idempotent. When the
   * address cannot cover the orders yet, the quote assumes every known output plus one more
   * input is spent, and says so in `detail.sufficientFunds`.
   */
  async estimateFee(from: string, orders: TransferOrder[]): Promise<FeeQuote> {
    const fromDecoded = decodeAddress(paramsOf(this.network), from);
    if (!fromDecoded.ok) throw new BitcoinSignerError(`from address is not valid on ${this.network.id}: ${fromDecoded.reason}`, 'BAD_USER_INPUT');
    const outputs = resolveOrders(this.network, orders, this.dustRelaySatPerKvB);
    const [rate, utxos] = await Promise.all([this.feeRate(), this.spendableUtxos(fromDecoded.normalized)]);
    const sel = selectCoins({
      utxos,
      outputs,
      changeScript: fromDecoded.script,
      satPerKvB: rate,
      inputWeight: P2WPKH_INPUT_WEIGHT,
      dustRelaySatPerKvB: this.dustRelaySatPerKvB,
    });
    if (sel) return feeQuote(sel, rate, { sufficientFunds: 'true' });
    const nIn = utxos.length + 1;
    const vsize = txVsize(P2WPKH_INPUT_WEIGHT * nIn, nIn, [...outputs.map((o) => o.script), fromDecoded.script]);
    return feeQuote({ inputs: new Array(nIn), change: 0n, fee: feeFor(vsize, rate), vsize }, rate, { sufficientFunds: 'false' });
  }

  /**
   * Called once per batch attempt; not idempotent (fresh coin selection each time): the caller
   * stores the result and re-broadcasts it rather than signing again. Pays every order in one
   * transaction with change back to the key's own address.
   */
  async sign(key: SigningKey, orders: TransferOrder[]): Promise<SignedTransaction> {
    const params = paramsOf(this.network);
    const net = bitcoinjsNetwork(this.network);
    const keyPair = ECPair.fromPrivateKey(key.privateKey, { network: net, compressed: true });
    const pubkeyHash = hash160(keyPair.publicKey);
    const own = p2wpkhAddressOfHash(params, pubkeyHash);
    const claimed = decodeAddress(params, key.address);
    if (!claimed.ok || claimed.normalized !== own)
      throw new BitcoinSignerError(`the signing key does not control ${key.address} (P2WPKH) on ${this.network.id}`, 'KEY_MISMATCH');
    const changeScript = claimed.script;
    const outputs = resolveOrders(this.network, orders, this.dustRelaySatPerKvB);
    const [rate, utxos] = await Promise.all([this.feeRate(), this.spendableUtxos(own)]);
    const sel = selectCoins({ utxos, outputs, changeScript, satPerKvB: rate, inputWeight: P2WPKH_INPUT_WEIGHT, dustRelaySatPerKvB: this.dustRelaySatPerKvB });
    if (!sel)
      throw insufficient(
        own,
        outputs.reduce((s, o) => s + o.value, 0n),
        utxos.reduce((s, u) => s + u.value, 0n),
      );

    const psbt = new Psbt({ network: net });
    for (const u of sel.inputs) psbt.addInput({ hash: u.txid, index: u.vout, sequence: RBF_SEQUENCE, witnessUtxo: { script: u.script, value: u.value } });
    for (const o of outputs) psbt.addOutput({ script: o.script, value: o.value });
    if (sel.change > 0n) psbt.addOutput({ script: changeScript, value: sel.change });
    psbt.signAllInputs(keyPair);
    if (!psbt.validateSignaturesOfAllInputs((pubkey, msghash, signature) => ecc.verify(msghash, pubkey, signature)))
      throw new Error('a signature did not verify');
    psbt.finalizeAllInputs();
    const tx = psbt.extractTransaction();
    return { txHash: tx.getId(), raw: tx.toHex(), fee: feeQuote({ ...sel, vsize: tx.virtualSize() }, rate) };
  }

  /**
   * Idempotent: a transaction the node already has in its mempool or chain counts as sent, so
   * a retry after a lost answer succeeds with the same hash.
   */
  async broadcast(tx: SignedTransaction): Promise<string> {
    try {
      const txid = await this.transport.call<string>('sendrawtransaction', [tx.raw]);
      if (txid !== tx.txHash) throw new ChainError(`node accepted the transaction as ${txid}, expected ${tx.txHash}`, false);
      return txid;
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      if (
        rpcErrorCode(err) === RPC_VERIFY_ALREADY_IN_CHAIN ||
        /already in block chain|txn-already-known|txn-already-in-mempool|outputs already in utxo set/i.test(msg)
      )
        return tx.txHash;
      throw err;
    }
  }

  /**
   * Called by workers/signer to start an m-of-n spend: selects the multisig address's coins and
   * returns an unsigned PSBT for the cosigners. Not idempotent (fresh selection each call).
   */
  async createMultisigPsbt(wallet: MultisigWallet, orders: TransferOrder[], opts: { changeAddress?: string } = {}): Promise<{ psbt: string; fee: FeeQuote }> {
    const [rate, utxos] = await Promise.all([this.feeRate(), this.spendableUtxos(wallet.address)]);
    return buildMultisigPsbt(this.network, wallet, utxos, orders, rate, { ...opts, dustRelayFeeRate: this.opts.dustRelayFeeRate });
  }
}

// --- P2WSH m-of-n multisig -------------------------------------------------------------------

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
  const dustRelay = BigInt(Math.round((opts.dustRelayFeeRate ?? defaultDustRelayFeeRate(network)) * 1000));
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
  return { psbt: psbt.toBase64(), fee: feeQuote(sel, satPerKvB, { m: String(wallet.m), n: String(wallet.n) }) };
}

function multisigOf(script: Uint8Array): { m: number; pubkeys: Uint8Array[] } {
  const p = payments.p2ms({ output: script });
  return { m: p.m!, pubkeys: p.pubkeys! };
}

/**
 * Adds this cosigner's signature to every input; returns the updated PSBT (base64). Called once
 * per cosigner; signing again with the same key gives the same PSBT back (deterministic
 * RFC 6979 signatures), so it is idempotent.
 */
export function signMultisigPsbt(network: NetworkConfig, psbtBase64: string, privateKey: Uint8Array): string {
  const net = bitcoinjsNetwork(network);
  const psbt = Psbt.fromBase64(psbtBase64, { network: net });
  const keyPair = ECPair.fromPrivateKey(privateKey, { network: net, compressed: true });
  const pub = hex(keyPair.publicKey);
  psbt.data.inputs.forEach((input, i) => {
    if (!input.witnessScript) throw new BitcoinSignerError(`input ${i} carries no witness script`, 'BAD_USER_INPUT');
    if (!multisigOf(input.witnessScript).pubkeys.some((k) => hex(k) === pub))
      throw new BitcoinSignerError(`the key is not a cosigner of input ${i}`, 'KEY_MISMATCH');
    if (input.partialSig?.some((s) => hex(s.pubkey) === pub)) return;
    psbt.signInput(i, keyPair);
  });
  return psbt.toBase64();
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
