import { createHmac } from 'node:crypto';
import * as ecc from 'tiny-secp256k1';
import { formatAmount } from '@cpg/core/money';
import { type AddressValidation, type ChainCodec, type DerivedAddress, MAX_XPUB_LENGTH, type NetworkConfig, type PaymentUriRequest } from '../types';
import { decodeAddress, p2wpkhAddressOfHash, paramsOf } from './address';
import { base58CheckDecode, hash160 } from './encoding';

/**
 * The pure face of the Bitcoin family: address validation, BIP84 receive addresses from an
 * account xpub, BIP21 links. No I/O and no private keys.
 */

export class CodecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CodecError';
  }
}

/** Extended public key version bytes we accept, and whether each belongs to a test network. */
const PUBLIC_VERSIONS = new Map<number, { testnet: boolean; name: string }>([
  [0x0488b21e, { testnet: false, name: 'xpub' }],
  [0x04b24746, { testnet: false, name: 'zpub' }],
  [0x019da462, { testnet: false, name: 'Ltub' }],
  [0x043587cf, { testnet: true, name: 'tpub' }],
  [0x045f1cf6, { testnet: true, name: 'vpub' }],
  [0x0436f6e1, { testnet: true, name: 'ttub' }],
]);
/** BIP49 (P2SH-wrapped segwit) keys: deriving P2WPKH from them would give addresses the wallet that exported them never shows. */
const WRAPPED_SEGWIT_VERSIONS = new Set([0x049d7cb2, 0x044a5262]);
const PRIVATE_VERSIONS = new Set([0x0488ade4, 0x04b2430c, 0x049d7878, 0x019d9cfe, 0x04358394, 0x045f18bc, 0x044a4e28, 0x0436ef7d]);

interface ChainNode {
  publicKey: Uint8Array;
  chainCode: Uint8Array;
  testnet: boolean;
}

const RECEIVE_CHAIN = 0;
const CACHE_LIMIT = 1000;
/**
 * Parsed receive-chain nodes (account/0) by xpub text. Parsing base58 and deriving the chain
 * node cost more than deriving one address from it, and a merchant's xpub is asked for again
 * for every address it allocates. Insertion order makes eviction of the oldest entry cheap.
 */
const chainNodes = new Map<string, ChainNode>();

/** BIP32 CKDpub: the child public key and chain code at a non-hardened index. */
function deriveChild(parent: { publicKey: Uint8Array; chainCode: Uint8Array }, index: number): { publicKey: Uint8Array; chainCode: Uint8Array } {
  const data = Buffer.allocUnsafe(37);
  data.set(parent.publicKey, 0);
  data.writeUInt32BE(index, 33);
  const I = createHmac('sha512', parent.chainCode).update(data).digest();
  const IL = I.subarray(0, 32);
  // BIP32 says to skip such an index (probability below 2^-127); refusing keeps every index's
  // address unique and lets the caller move on, instead of silently aliasing the next index.
  if (!ecc.isPrivate(IL)) throw new CodecError(`index ${index} is not derivable; use the next one`);
  const publicKey = ecc.pointAddScalar(parent.publicKey, IL, true);
  if (!publicKey) throw new CodecError(`index ${index} is not derivable; use the next one`);
  return { publicKey, chainCode: I.subarray(32) };
}

function parseAccountXpub(xpub: string): ChainNode {
  if (xpub.length > MAX_XPUB_LENGTH) throw new CodecError('account key is not a valid extended public key: too long');
  const decoded = base58CheckDecode(xpub);
  if (!decoded.ok) throw new CodecError(`account key is not a valid extended public key: ${decoded.reason}`);
  const bytes = decoded.payload;
  if (bytes.length !== 78) throw new CodecError('account key is not a valid extended public key: wrong length');
  const version = ((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0;
  // Never echo the string back: for these versions it is a secret.
  if (PRIVATE_VERSIONS.has(version) || bytes[45] === 0)
    throw new CodecError('an extended private key was given; only the account public key (xpub/zpub/tpub/vpub) is accepted');
  if (WRAPPED_SEGWIT_VERSIONS.has(version))
    throw new CodecError('a BIP49 (ypub/upub) key was given; native segwit addresses need a BIP84 zpub/vpub or an xpub/tpub');
  const kind = PUBLIC_VERSIONS.get(version);
  if (!kind) throw new CodecError(`unknown extended key version 0x${version.toString(16).padStart(8, '0')}`);
  const chainCode = bytes.slice(13, 45);
  const publicKey = bytes.slice(45, 78);
  if (!ecc.isPoint(publicKey)) throw new CodecError('account key holds an invalid public key');
  const chain = deriveChild({ publicKey, chainCode }, RECEIVE_CHAIN);
  return { publicKey: chain.publicKey, chainCode: chain.chainCode, testnet: kind.testnet };
}

function chainNodeOf(xpub: string): ChainNode {
  let node = chainNodes.get(xpub);
  if (node) return node;
  node = parseAccountXpub(xpub);
  if (chainNodes.size >= CACHE_LIMIT) chainNodes.delete(chainNodes.keys().next().value!);
  chainNodes.set(xpub, node);
  return node;
}

export const bitcoinCodec: ChainCodec = {
  family: 'BITCOIN',

  /** Called on every address a user types or an API receives. Pure, idempotent; never throws for bad input. */
  validateAddress(network: NetworkConfig, address: string): AddressValidation {
    const d = decodeAddress(paramsOf(network), address);
    return d.ok ? { valid: true, normalized: d.normalized } : { valid: false, reason: d.reason };
  },

  /**
   * Called when a USER address is allocated: BIP84 receive address `0/index` of the account key.
   * Pure and idempotent (the cache only saves work). Throws CodecError for unusable keys.
   */
  deriveAddress(network: NetworkConfig, accountXpub: string, index: number): DerivedAddress {
    const params = paramsOf(network);
    if (!Number.isInteger(index) || index < 0 || index > 0x7fffffff) throw new CodecError(`index must be a whole number from 0 to 2^31-1, got ${index}`);
    const chain = chainNodeOf(accountXpub);
    // Version bytes are the only sign of which chain a key was exported for; a mainnet key on a
    // test network (or the reverse) is almost always a configuration mistake.
    if (chain.testnet !== network.testnet)
      throw new CodecError(
        `account key is for ${chain.testnet ? 'a test network' : 'mainnet'}, but network ${network.id} is ${network.testnet ? 'a test network' : 'mainnet'}`,
      );
    const child = deriveChild(chain, index);
    return {
      address: p2wpkhAddressOfHash(params, hash160(child.publicKey)),
      path: `${RECEIVE_CHAIN}/${index}`,
      index,
      publicKey: Buffer.from(child.publicKey).toString('hex'),
    };
  },

  /** Called when a checkout shows its QR code: a BIP21 URI. Pure, idempotent. */
  paymentUri(network: NetworkConfig, req: PaymentUriRequest): string {
    const d = decodeAddress(paramsOf(network), req.address);
    if (!d.ok) throw new CodecError(`cannot build a payment link to an invalid address: ${d.reason}`);
    if (req.coin.id !== network.nativeCoin.id) throw new CodecError(`coin ${req.coin.id} is not paid on network ${network.id}`);
    const query: string[] = [];
    if (req.amount !== undefined) {
      if (req.amount <= 0n) throw new CodecError('a payment link amount must be positive');
      query.push(`amount=${formatAmount(req.amount, req.coin.decimals)}`);
    }
    if (req.label) query.push(`label=${encodeURIComponent(req.label)}`);
    if (req.message) query.push(`message=${encodeURIComponent(req.message)}`);
    return `${network.uriScheme}:${d.normalized}${query.length ? `?${query.join('&')}` : ''}`;
  },
};

/** Test and benchmark hook: forget parsed account keys. */
export function clearCodecCache(): void {
  chainNodes.clear();
}
