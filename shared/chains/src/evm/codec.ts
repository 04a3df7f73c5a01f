import { BIP32Factory, type BIP32API, type BIP32Interface } from 'bip32';
import * as ecc from 'tiny-secp256k1';
import {
  type AddressValidation,
  type ChainCodec,
  type DerivedAddress,
  MAX_ADDRESS_LENGTH,
  MAX_XPUB_LENGTH,
  type NetworkConfig,
  type PaymentUriRequest,
} from '../types';
import { checkAddress, toChecksumAddress, ZERO_ADDRESS } from './address';
import { keccak256 } from './keccak';

/**
 * EVM codec: EIP-55 addresses, BIP44 receive addresses from an account xpub, EIP-681 URIs.
 * Pure and key-free, so subgraphs may import it.
 */

// bip32 checks the version bytes of an extended key against a network; EVM account xpubs come
// from wallets and HSMs in the Bitcoin mainnet (xpub) or testnet (tpub) encoding.
const XPUB_VERSIONS = { xpub: { public: 0x0488b21e, private: 0x0488ade4 }, tpub: { public: 0x043587cf, private: 0x04358394 } } as const;
const HARDENED = 0x80000000;
const ACCOUNT_CACHE_LIMIT = 1_000;

let bip32: BIP32API | undefined;
function bip32Api(): BIP32API {
  bip32 ??= BIP32Factory(ecc);
  return bip32;
}

/**
 * Address of a secp256k1 public key (compressed or not): the last 20 bytes of the keccak of the
 * 64-byte uncompressed point.
 */
export function publicKeyToAddress(publicKey: Uint8Array): string {
  const uncompressed = publicKey.length === 65 ? publicKey : ecc.pointCompress(publicKey, false);
  const hash = keccak256(uncompressed.subarray(1));
  return toChecksumAddress(`0x${Buffer.from(hash.buffer, hash.byteOffset + 12, 20).toString('hex')}`);
}

export class EvmCodec implements ChainCodec {
  readonly family = 'EVM' as const;
  /**
   * xpub -> its external-chain node (account/0). Deriving that node costs as much as deriving an
   * address, and the parse checks the base58 checksum, so both are paid once per account.
   */
  private readonly receiveNodes = new Map<string, BIP32Interface>();

  /** Called on every address a user types or an API receives. Pure, idempotent. */
  validateAddress(_network: NetworkConfig, address: string): AddressValidation {
    if (typeof address !== 'string') return { valid: false, reason: 'not a string' };
    if (address.length > MAX_ADDRESS_LENGTH) return { valid: false, reason: 'too long: an EVM address is 42 characters' };
    // Pasted addresses often carry a trailing newline or spaces; they are not part of the address.
    const check = checkAddress(address.trim());
    if (!check.ok) return { valid: false, reason: check.reason };
    // Sending to the zero address burns the funds; no user means it.
    if (check.address === ZERO_ADDRESS) return { valid: false, reason: 'the zero address burns funds' };
    return { valid: true, normalized: check.address };
  }

  /**
   * Called when a USER address is allocated. `accountXpub` is the BIP44 account node
   * m/44'/60'/<account>' (depth 3, hardened); the receive address `index` is account/0/index.
   * Pure and idempotent: the same (xpub, index) always gives the same address.
   */
  deriveAddress(_network: NetworkConfig, accountXpub: string, index: number): DerivedAddress {
    if (!Number.isInteger(index) || index < 0 || index >= HARDENED) throw new Error(`derivation index must be an integer in [0, 2^31), got ${index}`);
    const child = this.receiveNode(accountXpub).derive(index);
    return { address: publicKeyToAddress(child.publicKey), path: `0/${index}`, index, publicKey: Buffer.from(child.publicKey).toString('hex') };
  }

  /**
   * Called when a payment's QR code and link are built; pure and idempotent.
   * EIP-681: `ethereum:<address>@<chainId>?value=<wei>` for the native coin and
   * `ethereum:<token>@<chainId>/transfer?address=<to>&uint256=<units>` for tokens. The chain id
   * is always written so a wallet on another chain refuses rather than pays there. EIP-681 has no
   * label or message parameters; wallets ignore unknown ones at best, so they are left out.
   */
  paymentUri(network: NetworkConfig, req: PaymentUriRequest): string {
    const to = checkAddress(req.address);
    if (!to.ok) throw new Error(`invalid address ${JSON.stringify(req.address)}: ${to.reason}`);
    if (!network.coins.some((c) => c.id === req.coin.id)) throw new Error(`coin ${req.coin.id} is not on network ${network.id}`);
    if (req.amount !== undefined && req.amount < 0n) throw new Error('amount must not be negative');
    const scheme = network.uriScheme || 'ethereum';
    if (!req.coin.contract) {
      return `${scheme}:${to.address}@${network.chainId}${req.amount !== undefined ? `?value=${req.amount.toString()}` : ''}`;
    }
    const token = toChecksumAddress(req.coin.contract);
    return `${scheme}:${token}@${network.chainId}/transfer?address=${to.address}${req.amount !== undefined ? `&uint256=${req.amount.toString()}` : ''}`;
  }

  private receiveNode(accountXpub: string): BIP32Interface {
    const cached = this.receiveNodes.get(accountXpub);
    if (cached) return cached;
    if (accountXpub.length > MAX_XPUB_LENGTH) throw new Error('not a valid extended public key: too long');
    const prefix = accountXpub.slice(0, 4);
    if (prefix === 'xprv' || prefix === 'tprv') throw new Error('an extended PRIVATE key was given where an account xpub is expected; refusing it');
    const versions = prefix === 'tpub' ? XPUB_VERSIONS.tpub : XPUB_VERSIONS.xpub;
    let account: BIP32Interface;
    try {
      account = bip32Api().fromBase58(accountXpub, { wif: 0x80, bip32: versions });
    } catch (err) {
      throw new Error(`not a valid extended public key: ${(err as Error).message}`);
    }
    if (!account.isNeutered()) throw new Error('an extended PRIVATE key was given where an account xpub is expected; refusing it');
    // A node at another depth derives valid-looking addresses that no standard wallet would
    // recognise, so funds sent there could only be recovered by knowing the mistake.
    if (account.depth !== 3 || account.index < HARDENED) {
      throw new Error(`expected a BIP44 account xpub (depth 3, hardened index, m/44'/60'/n'); got depth ${account.depth}`);
    }
    const receive = account.derive(0);
    if (this.receiveNodes.size >= ACCOUNT_CACHE_LIMIT) this.receiveNodes.delete(this.receiveNodes.keys().next().value as string);
    this.receiveNodes.set(accountXpub, receive);
    return receive;
  }
}

/** Shared instance: the codec is stateless apart from its account-node cache. */
export const evmCodec = new EvmCodec();
