import { Psbt } from 'bitcoinjs-lib';
import type { NetworkConfig, SigningKey } from '../types';
import { bitcoinjsNetwork, decodeAddress, paramsOf } from './address';
import { ECPair, signatureValid } from './ecpair';
import { hash160 } from './encoding';
import { BitcoinSignerError } from './errors';
import { RBF_SEQUENCE } from './tx-build';

/**
 * A consolidation: P2WPKH outputs of several keys (a merchant's USER addresses) spent into the
 * given outputs in one transaction, each input signed with its own key. Pure apart from the keys
 * handed in for this call (never kept). Used by workers/signer for collector sweeps; the caller
 * reads each input's value and script from the node, so a wrong value cannot be signed for.
 */

export interface ConsolidationInput {
  txid: string;
  vout: number;
  value: bigint;
  /** The output script being spent. */
  script: Uint8Array;
  key: SigningKey;
}

export interface ConsolidationOutput {
  address: string;
  value: bigint;
}

export function signConsolidation(
  network: NetworkConfig,
  inputs: ConsolidationInput[],
  outputs: ConsolidationOutput[],
): { txHash: string; raw: string; fee: bigint; vsize: number } {
  if (inputs.length === 0 || outputs.length === 0) throw new BitcoinSignerError('a consolidation needs inputs and outputs', 'BAD_USER_INPUT');
  const params = paramsOf(network);
  const net = bitcoinjsNetwork(network);
  const psbt = new Psbt({ network: net });
  const pairs = inputs.map((input) => {
    const pair = ECPair.fromPrivateKey(input.key.privateKey, { network: net, compressed: true });
    const expected = Buffer.concat([Buffer.from([0x00, 0x14]), hash160(pair.publicKey)]);
    if (!Buffer.from(input.script).equals(expected)) {
      throw new BitcoinSignerError(`output ${input.txid}:${input.vout} is not a P2WPKH output of the key given for it`, 'KEY_MISMATCH');
    }
    psbt.addInput({ hash: input.txid, index: input.vout, sequence: RBF_SEQUENCE, witnessUtxo: { script: input.script, value: input.value } });
    return pair;
  });
  let outTotal = 0n;
  for (const o of outputs) {
    const decoded = decodeAddress(params, o.address);
    if (!decoded.ok) throw new BitcoinSignerError(`output address is not valid on ${network.id}: ${decoded.reason}`, 'BAD_USER_INPUT');
    if (o.value <= 0n) throw new BitcoinSignerError('output values must be positive', 'BAD_USER_INPUT');
    psbt.addOutput({ script: decoded.script, value: o.value });
    outTotal += o.value;
  }
  const inTotal = inputs.reduce((a, i) => a + i.value, 0n);
  const fee = inTotal - outTotal;
  if (fee <= 0n) throw new BitcoinSignerError(`outputs (${outTotal}) must be less than inputs (${inTotal})`, 'BAD_USER_INPUT');
  pairs.forEach((pair, i) => psbt.signInput(i, pair));
  if (!psbt.validateSignaturesOfAllInputs(signatureValid)) throw new Error('a signature did not verify');
  psbt.finalizeAllInputs();
  const tx = psbt.extractTransaction();
  return { txHash: tx.getId(), raw: tx.toHex(), fee, vsize: tx.virtualSize() };
}
