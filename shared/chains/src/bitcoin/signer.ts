import { Psbt } from 'bitcoinjs-lib';
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
import { bitcoinjsNetwork, decodeAddress, p2wpkhAddressOfHash, paramsOf } from './address';
import { coinsToSats } from './amount';
import { broadcastBitcoinTransaction } from './broadcast';
import { ECPair, signatureValid } from './ecpair';
import { hash160 } from './encoding';
import { BitcoinSignerError } from './errors';
import {
  DEFAULT_FEE_RATE_OPTIONS,
  P2WPKH_INPUT_WEIGHT,
  type FeeRateOptions,
  defaultDustRelayFeeRate,
  estimateFeeRate,
  feeAtRate,
  satPerKvBOf,
  txVsize,
} from './fees';
import { type MultisigWallet, buildMultisigPsbt, multisigOf } from './psbt';
import { RPC_INVALID_PARAMETER, rpcErrorCode } from './rpc';
import { RBF_SEQUENCE, type Utxo, insufficient, resolveOrders, selectCoins, selectionQuote } from './tx-build';

// Kept here for the signer's callers: the error its refusals carry, the dust rule replacements check.
export { BitcoinSignerError } from './errors';
export { dustThreshold } from './fees';

/**
 * Signs Bitcoin-family transactions from P2WPKH keys (through PSBTs) and adds cosigner
 * signatures to P2WSH m-of-n PSBTs. Private keys arrive per call, are used in memory and are
 * never logged, stored or sent to the node: coins are found with `scantxoutset`, which needs
 * neither a wallet nor a key on the node. Sizes and fee rates are the family's fee estimator
 * (fees.ts), coin selection and orders tx-build.ts, multisig PSBT building psbt.ts.
 */

const COINBASE_MATURITY = 100;

export interface BitcoinSignerOptions extends FeeRateOptions {
  /** The node's dust relay fee in sat/vB (Bitcoin Core's -dustrelayfee); defaults per chain. */
  dustRelayFeeRate?: number;
  /** Where spendable outputs come from; defaults to `scantxoutset` on the node. */
  utxoSource?: (address: string) => Promise<Utxo[]>;
}

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
      confTarget: options.confTarget ?? DEFAULT_FEE_RATE_OPTIONS.confTarget,
      fallbackFeeRate: options.fallbackFeeRate ?? DEFAULT_FEE_RATE_OPTIONS.fallbackFeeRate,
      minFeeRate: options.minFeeRate ?? DEFAULT_FEE_RATE_OPTIONS.minFeeRate,
      maxFeeRate: options.maxFeeRate ?? DEFAULT_FEE_RATE_OPTIONS.maxFeeRate,
      dustRelayFeeRate: options.dustRelayFeeRate ?? defaultDustRelayFeeRate(network),
      utxoSource: options.utxoSource,
    };
  }

  private get dustRelaySatPerKvB(): bigint {
    return satPerKvBOf(this.opts.dustRelayFeeRate);
  }

  /** Called by every estimate and signature (and by multisig PSBT builders); read-only, idempotent. sat/kvB to pay (see estimateFeeRate). */
  feeRate(): Promise<bigint> {
    return estimateFeeRate(this.transport, this.opts);
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
    if (sel) return selectionQuote(sel, rate, { sufficientFunds: 'true' });
    const nIn = utxos.length + 1;
    const vsize = txVsize(P2WPKH_INPUT_WEIGHT * nIn, nIn, [...outputs.map((o) => o.script.length), fromDecoded.script.length]);
    return selectionQuote({ inputs: new Array(nIn), change: 0n, fee: feeAtRate(vsize, rate), vsize }, rate, { sufficientFunds: 'false' });
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
    if (!psbt.validateSignaturesOfAllInputs(signatureValid)) throw new Error('a signature did not verify');
    psbt.finalizeAllInputs();
    const tx = psbt.extractTransaction();
    return { txHash: tx.getId(), raw: tx.toHex(), fee: selectionQuote({ ...sel, vsize: tx.virtualSize() }, rate) };
  }

  /**
   * Idempotent: a transaction the node already has in its mempool or chain counts as sent, so
   * a retry after a lost answer succeeds with the same hash.
   */
  broadcast(tx: SignedTransaction): Promise<string> {
    return broadcastBitcoinTransaction(this.transport, tx);
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

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}
