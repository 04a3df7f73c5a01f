import { SigningKey as EthSigningKey, Transaction as EvmTransaction, hexlify } from 'ethers';
import type { SigningKey } from '../types';
import { type SignedReplacement, maxBig } from '../replacement';
import type { EvmFees } from './fees';

/**
 * Same-nonce replacement of a stuck EVM transaction (a fee bump). Pure building and signing: the
 * caller reads today's fees, holds the key and stores and broadcasts the result. Signs with a
 * private key, so it is for the signer alone, like ./signer.
 */

/** The stored transaction to replace: its hash and signed bytes. */
export interface ReplaceableEvmTx {
  txHash: string;
  raw: string;
}

/** Today's fee market as readEvmFees reads it (only the parts a replacement needs). */
export type EvmFeeMarket = Pick<EvmFees, 'baseFeePerGas' | 'maxPriorityFeePerGas'>;

/** Its fee is the gas-limit x max-fee upper bound, as for any signed EVM payout. */
export type EvmReplacement = SignedReplacement<{ gasLimit: string; maxFeePerGas: string; maxPriorityFeePerGas: string }, number>;

/**
 * Same nonce, to, value, data and gas limit; tip and max fee raised by at least `percent` (nodes
 * accept a replacement only at +10 % or more) and to at least today's fees. Being the same nonce,
 * at most one of the two can ever be mined.
 */
export function buildEvmReplacement(key: SigningKey, tx: ReplaceableEvmTx, fees: EvmFeeMarket, percent: number): EvmReplacement {
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
