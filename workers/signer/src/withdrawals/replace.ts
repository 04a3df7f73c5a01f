import { Psbt, Transaction as BtcTransaction } from 'bitcoinjs-lib';
import { ECPairFactory } from 'ecpair';
import { SigningKey as EthSigningKey, Transaction as EvmTransaction, hexlify } from 'ethers';
import * as ecc from 'tiny-secp256k1';
import type { NetworkConfig, RpcTransport, SigningKey } from '@cpg/chains';
import { bitcoinjsNetwork, decodeAddress, paramsOf } from '@cpg/chains/bitcoin/address';
import { coinsToSats } from '@cpg/chains/bitcoin/amount';
import { type BitcoinSigner, dustThreshold } from '@cpg/chains/bitcoin/signer';
import type { EvmFees } from '@cpg/chains/evm/signer';
import type { SignedPayout, StoredTx } from './chains';

/**
 * Fee bumps by replacement, never by a second spend: the replacement spends exactly what the
 * stuck transaction spends (the same EVM nonce; the same Bitcoin inputs), so at most one of the
 * two can ever be mined.
 */

const ECPair = ECPairFactory(ecc);
const RBF_SEQUENCE = 0xfffffffd;
/** Litecoin Core's dust relay fee (30 sat/vB), Bitcoin Core's 3. */
const dustRelaySatPerKvB = (network: NetworkConfig) => (network.uriScheme === 'litecoin' ? 30_000n : 3_000n);

function maxBig(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}

/**
 * Same nonce, to, value, data and gas limit; tip and max fee raised by at least `percent` (nodes
 * accept a replacement only at +10 % or more) and to at least today's fees.
 */
export function bumpEvmReplacement(key: SigningKey, tx: StoredTx, fees: EvmFees, percent: number): SignedPayout {
  const old = EvmTransaction.from(tx.raw);
  const raise = (v: bigint) => (v * BigInt(100 + percent)) / 100n + 1n;
  const tip = maxBig(raise(old.maxPriorityFeePerGas ?? 0n), fees.maxPriorityFeePerGas);
  const maxFee = maxBig(maxBig(raise(old.maxFeePerGas ?? 0n), fees.baseFeePerGas * 2n + tip), tip);
  const next = EvmTransaction.from({
    type: 2,
    chainId: old.chainId,
    nonce: old.nonce,
    to: old.to,
    value: old.value,
    data: old.data,
    gasLimit: old.gasLimit,
    maxFeePerGas: maxFee,
    maxPriorityFeePerGas: tip,
  });
  const signer = new EthSigningKey(hexlify(key.privateKey));
  next.signature = signer.sign(next.unsignedHash);
  if (next.from?.toLowerCase() !== key.address.toLowerCase()) throw new Error(`the signing key does not control ${key.address}`);
  return {
    txHash: next.hash!,
    raw: next.serialized,
    fee: old.gasLimit * maxFee,
    feeDetail: { gasLimit: old.gasLimit.toString(), maxFeePerGas: maxFee.toString(), maxPriorityFeePerGas: tip.toString(), replaces: tx.txHash },
    nonce: old.nonce,
  };
}

/**
 * BIP125 replacement of a stuck P2WPKH payout: the same inputs and payee outputs; the fee rate
 * raised by `percent` (and to the node's current estimate), paid out of the change output. Null
 * when there is no change output or it would fall below dust: the transaction is then left to
 * confirm as it is (a bump would need new inputs, i.e. a different spend). The node must relay
 * replacements (Litecoin Core: -mempoolreplacement=1).
 */
export async function bumpBitcoinReplacement(
  network: NetworkConfig,
  transport: RpcTransport,
  signer: BitcoinSigner,
  key: SigningKey,
  tx: StoredTx,
  percent: number,
): Promise<SignedPayout | null> {
  const net = bitcoinjsNetwork(network);
  const old = BtcTransaction.fromHex(tx.raw);
  const own = decodeAddress(paramsOf(network), key.address);
  if (!own.ok) throw new Error(`${key.address} is not an address of ${network.id}`);
  const ownScript = Buffer.from(own.script).toString('hex');
  const changeIndex = old.outs.map((o) => Buffer.from(o.script).toString('hex')).lastIndexOf(ownScript);
  if (changeIndex < 0) return null;

  const vsize = old.virtualSize() + 1; // a re-signed DER signature may be one byte longer
  const oldRate = (tx.fee * 1000n) / BigInt(old.virtualSize());
  const current = await signer.feeRate();
  const rate = maxBig((oldRate * BigInt(100 + percent)) / 100n + 1000n, current);
  const newFee = (BigInt(vsize) * rate + 999n) / 1000n;
  // BIP125 rule 4: the replacement pays for its own relay on top of the old fee (1 sat/vB).
  const fee = maxBig(newFee, tx.fee + BigInt(vsize));
  const change = BigInt(old.outs[changeIndex]!.value) - (fee - tx.fee);
  if (change < dustThreshold(own.script, dustRelaySatPerKvB(network))) return null;

  const psbt = new Psbt({ network: net });
  for (const input of old.ins) {
    const prevTxid = Buffer.from(input.hash).reverse().toString('hex');
    const prev = await transport.call<{ vout: { n: number; value: number | string; scriptPubKey: { hex: string } }[] }>('getrawtransaction', [prevTxid, true]);
    const out = prev.vout.find((v) => v.n === input.index);
    if (!out) throw new Error(`input ${prevTxid}:${input.index} not found`);
    psbt.addInput({
      hash: prevTxid,
      index: input.index,
      sequence: RBF_SEQUENCE,
      witnessUtxo: { script: Buffer.from(out.scriptPubKey.hex, 'hex'), value: coinsToSats(out.value) },
    });
  }
  old.outs.forEach((o, i) => psbt.addOutput({ script: o.script, value: i === changeIndex ? change : BigInt(o.value) }));
  const keyPair = ECPair.fromPrivateKey(key.privateKey, { network: net, compressed: true });
  psbt.signAllInputs(keyPair);
  psbt.finalizeAllInputs();
  const next = psbt.extractTransaction();
  return {
    txHash: next.getId(),
    raw: next.toHex(),
    fee,
    feeDetail: { satPerKvB: rate.toString(), vsize: String(next.virtualSize()), change: change.toString(), replaces: tx.txHash },
    nonce: null,
  };
}
