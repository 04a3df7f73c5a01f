import { createHmac } from 'node:crypto';
import * as ecc from 'tiny-secp256k1';
import { BIP32Factory, type BIP32Interface } from 'bip32';
import { formatAmount } from '@cpg/core/money';
import { type AddressValidation, type ChainCodec, type DerivedAddress, MAX_XPUB_LENGTH, type NetworkConfig, type PaymentUriRequest } from '../types';
import { checkTronAddress, tronAddressFromPublicKey } from './address';

export { checkTronAddress, isTronAddress, tronBase58ToHex, tronBodyToBase58, tronHexToBase58, tronAddressFromPublicKey } from './address';

const bip32 = BIP32Factory(ecc);

// Tron wallets export account xpubs with Bitcoin's mainnet version bytes (there is no Tron
// variant); tpub is accepted too because Shasta tooling built on Bitcoin testnet libraries emits it.
const XPUB_VERSIONS = [
  { bip32: { public: 0x0488b21e, private: 0x0488ade4 }, wif: 0x80 },
  { bip32: { public: 0x043587cf, private: 0x04358394 }, wif: 0xef },
];

/** BIP44 account level is m/44'/195'/<account>': depth 3 in the key's own metadata. */
const ACCOUNT_DEPTH = 3;

interface ChainNode {
  node: BIP32Interface;
  publicKey: Uint8Array;
  chainCode: Uint8Array;
}

// Parsing an xpub and deriving its external chain node costs as much as ~10 address derivations;
// allocating addresses one by one for the same merchant account would pay it every time.
const chainNodes = new Map<string, ChainNode>();
const CHAIN_NODE_CACHE_MAX = 1_000;

function externalChainNode(accountXpub: string): ChainNode {
  const cached = chainNodes.get(accountXpub);
  if (cached) return cached;
  // bip32's base58 decode is quadratic in the text; an xpub is 111 characters.
  if (accountXpub.length > MAX_XPUB_LENGTH) throw new Error('account key is not a valid xpub/tpub: too long');
  let account: BIP32Interface | undefined;
  for (const network of XPUB_VERSIONS) {
    try {
      account = bip32.fromBase58(accountXpub, network);
      break;
    } catch {
      // try the next version bytes
    }
  }
  if (!account) throw new Error('account key is not a valid xpub/tpub');
  if (!account.isNeutered()) throw new Error('account key must be an extended PUBLIC key (xpub), never a private one');
  if (account.depth !== ACCOUNT_DEPTH) {
    throw new Error(`account xpub has depth ${account.depth}; expected the account level m/44'/195'/<account>' (depth 3)`);
  }
  const node = account.derive(0);
  const chain = { node, publicKey: node.publicKey, chainCode: node.chainCode };
  if (chainNodes.size >= CHAIN_NODE_CACHE_MAX) chainNodes.delete(chainNodes.keys().next().value as string);
  chainNodes.set(accountXpub, chain);
  return chain;
}

/**
 * BIP32 public child derivation (CKDpub) producing the UNCOMPRESSED child key that the Tron
 * address hashes. The library derives a compressed key (then decompressing costs a modular square
 * root) and hashes the parent for a fingerprint we never use; doing the step here saves ~15%.
 */
function childUncompressed(chain: ChainNode, index: number): Uint8Array {
  const data = Buffer.allocUnsafe(37);
  data.set(chain.publicKey, 0);
  data.writeUInt32BE(index, 33);
  const I = createHmac('sha512', chain.chainCode).update(data).digest();
  const IL = I.subarray(0, 32);
  const child = ecc.isPrivate(IL) ? ecc.pointAddScalar(chain.publicKey, IL, false) : null;
  // IL >= n or a point at infinity (probability ~2^-127): the library applies BIP32's rule of
  // moving on to the next index, so the result stays what every other wallet derives.
  return child ?? ecc.pointCompress(chain.node.derive(index).publicKey, false);
}

function compress(uncompressed: Uint8Array): Uint8Array {
  const out = new Uint8Array(33);
  out[0] = uncompressed[64]! & 1 ? 0x03 : 0x02;
  out.set(uncompressed.subarray(1, 33), 1);
  return out;
}

function assertTron(network: NetworkConfig): void {
  if (network.family !== 'TRON') throw new Error(`tronCodec used with ${network.family} network ${network.id}`);
}

/**
 * Tron codec. Addresses are base58check with version 0x41 on mainnet and testnets alike, so the
 * network only guards against using this codec for another family.
 */
export const tronCodec: ChainCodec = {
  family: 'TRON',

  /** Called on every address a user types or an API receives. Pure, idempotent; base58 is canonical, so `normalized` is the input. */
  validateAddress(network: NetworkConfig, address: string): AddressValidation {
    assertTron(network);
    const check = checkTronAddress(address);
    return check.ok ? { valid: true, normalized: address } : { valid: false, reason: check.reason };
  },

  /**
   * Called when a USER address is allocated. Pure and idempotent: m/44'/195'/<account>'/0/index
   * from the account-level xpub, the same address TronLink and tronweb derive from the mnemonic.
   */
  deriveAddress(network: NetworkConfig, accountXpub: string, index: number): DerivedAddress {
    assertTron(network);
    if (!Number.isInteger(index) || index < 0 || index >= 0x80000000) throw new Error(`derivation index ${index} must be an integer in [0, 2^31)`);
    const child = childUncompressed(externalChainNode(accountXpub), index);
    return {
      address: tronAddressFromPublicKey(child),
      path: `0/${index}`,
      index,
      publicKey: Buffer.from(compress(child)).toString('hex'),
    };
  },

  /**
   * Called when a payment's QR code is rendered. Pure, idempotent.
   * There is no ratified TRON payment URI standard. We follow the BIP21 shape that Tron wallets
   * which read QR payment links accept: `tron:<base58 address>?amount=<decimal>` with the amount
   * in WHOLE coin units (1.5 = 1.5 TRX, not sun), and for a TRC-20 token `&token=<base58
   * contract>`; no `token` means TRX. `label` and `message` are percent-encoded as in BIP21.
   * Caveat: a wallet that ignores `token` would read a USDT request as the same amount of TRX,
   * so the checkout page always shows the coin next to the QR code.
   */
  paymentUri(network: NetworkConfig, req: PaymentUriRequest): string {
    assertTron(network);
    const check = checkTronAddress(req.address);
    if (!check.ok) throw new Error(`invalid Tron address ${JSON.stringify(req.address)}: ${check.reason}`);
    if (!network.coins.some((c) => c.id === req.coin.id)) throw new Error(`coin ${req.coin.id} is not on network ${network.id}`);
    const params: string[] = [];
    if (req.amount !== undefined) {
      if (req.amount <= 0n) throw new Error('payment amount must be positive');
      params.push(`amount=${formatAmount(req.amount, req.coin.decimals)}`);
    }
    if (req.coin.contract) params.push(`token=${req.coin.contract}`);
    if (req.label) params.push(`label=${encodeURIComponent(req.label)}`);
    if (req.message) params.push(`message=${encodeURIComponent(req.message)}`);
    return `${network.uriScheme}:${req.address}${params.length ? `?${params.join('&')}` : ''}`;
  },
};
