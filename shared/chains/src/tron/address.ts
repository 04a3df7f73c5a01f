import { createHash } from 'node:crypto';
import { pointCompress } from 'tiny-secp256k1';
import { keccak256 } from 'ethers';
import { MAX_ADDRESS_LENGTH } from '../types';

/**
 * Tron address encodings. One account has three spellings in node responses:
 * - base58check "T..." (what users see and what we store): 0x41 ‖ body20 ‖ checksum4;
 * - hex "41..." (21 bytes) in transaction fields when the node answers with `visible: false`;
 * - the bare 20-byte body in event logs and ABI words (EVM-style, no 0x41).
 * Everything here is pure and synchronous.
 */

export const TRON_ADDRESS_VERSION = 0x41;
const ALPHABET = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
const ALPHABET_MAP: Record<string, number> = {};
for (let i = 0; i < ALPHABET.length; i++) ALPHABET_MAP[ALPHABET[i]!] = i;

const HEX21 = /^41[0-9a-fA-F]{40}$/;
const HEX40 = /^[0-9a-fA-F]{40}$/;

function sha256(data: Uint8Array): Buffer {
  return createHash('sha256').update(data).digest();
}

function checksum(payload: Uint8Array): Buffer {
  return sha256(sha256(payload)).subarray(0, 4);
}

export function base58Encode(bytes: Uint8Array): string {
  let zeros = 0;
  while (zeros < bytes.length && bytes[zeros] === 0) zeros++;
  // Base-58 digits, least significant first; 138/100 > log(256)/log(58) bounds the size.
  const digits = new Uint8Array(Math.ceil(((bytes.length - zeros) * 138) / 100) + 1);
  let len = 0;
  for (let i = zeros; i < bytes.length; i++) {
    let carry = bytes[i]!;
    for (let j = 0; j < len; j++) {
      carry += digits[j]! << 8;
      digits[j] = carry % 58;
      carry = (carry / 58) | 0;
    }
    while (carry > 0) {
      digits[len++] = carry % 58;
      carry = (carry / 58) | 0;
    }
  }
  let out = '1'.repeat(zeros);
  for (let i = len - 1; i >= 0; i--) out += ALPHABET[digits[i]!];
  return out;
}

/** Null when `text` holds a character outside the base58 alphabet or is longer than MAX_ADDRESS_LENGTH (the work is quadratic in the length). */
export function base58Decode(text: string): Uint8Array | null {
  if (text.length > MAX_ADDRESS_LENGTH) return null;
  let zeros = 0;
  while (zeros < text.length && text[zeros] === '1') zeros++;
  const bytes = new Uint8Array(Math.ceil(((text.length - zeros) * 733) / 1000) + 1);
  let len = 0;
  for (let i = zeros; i < text.length; i++) {
    const value = ALPHABET_MAP[text[i]!];
    if (value === undefined) return null;
    let carry = value;
    for (let j = 0; j < len; j++) {
      carry += bytes[j]! * 58;
      bytes[j] = carry & 0xff;
      carry >>= 8;
    }
    while (carry > 0) {
      bytes[len++] = carry & 0xff;
      carry >>= 8;
    }
  }
  const out = new Uint8Array(zeros + len);
  for (let i = 0; i < len; i++) out[zeros + i] = bytes[len - 1 - i]!;
  return out;
}

export type TronAddressCheck = { ok: true; hex: string } | { ok: false; reason: string };

/**
 * Full check of a user-supplied base58 address with a reason a person can act on. The order of
 * the checks matters for the reason: a hex or EVM string is named as such before it is blamed for
 * characters, and a wrong version byte is only reported when the checksum is right (otherwise
 * the likelier story is a typo).
 */
export function checkTronAddress(address: unknown): TronAddressCheck {
  if (typeof address !== 'string' || address.length === 0) return { ok: false, reason: 'address is empty' };
  // Before any regex or decode: a Tron address is 34 characters.
  if (address.length > MAX_ADDRESS_LENGTH) return { ok: false, reason: `address is too long (a Tron address is 34 characters)` };
  if (/\s/.test(address)) return { ok: false, reason: 'address contains whitespace' };
  if (HEX21.test(address) || /^0x41[0-9a-fA-F]{40}$/.test(address)) {
    return { ok: false, reason: 'hex address (41...) given where a base58 address (T...) is expected' };
  }
  if (/^0x[0-9a-fA-F]{40}$/.test(address)) return { ok: false, reason: 'this is an EVM 0x address, not a Tron address' };
  const bytes = base58Decode(address);
  if (!bytes) return { ok: false, reason: 'address contains characters outside base58 (0, O, I and l are never used)' };
  if (bytes.length !== 25) {
    return { ok: false, reason: `address decodes to ${bytes.length} bytes; a Tron address is 25 (version byte, 20-byte account, 4-byte checksum)` };
  }
  const payload = bytes.subarray(0, 21);
  if (!checksum(payload).equals(bytes.subarray(21))) return { ok: false, reason: 'checksum mismatch: the address has a typo' };
  if (payload[0] !== TRON_ADDRESS_VERSION) {
    return { ok: false, reason: `version byte 0x${payload[0]!.toString(16).padStart(2, '0')} is not Tron's 0x41 (Tron addresses start with T)` };
  }
  return { ok: true, hex: Buffer.from(payload).toString('hex') };
}

export function isTronAddress(address: unknown): boolean {
  return checkTronAddress(address).ok;
}

function encodeChecked(payload: Uint8Array): string {
  const full = new Uint8Array(25);
  full.set(payload, 0);
  full.set(checksum(payload), 21);
  return base58Encode(full);
}

// Node responses repeat the same few thousand hot addresses (exchanges, USDT holders) block
// after block; remembering conversions keeps block extraction cheaper than parsing the JSON.
const base58Cache = new Map<string, string>();
const BASE58_CACHE_MAX = 50_000;

function encodeBody(body40: string): string {
  const payload = new Uint8Array(21);
  payload[0] = TRON_ADDRESS_VERSION;
  payload.set(Buffer.from(body40, 'hex'), 1);
  return encodeChecked(payload);
}

// Keyed by the spelling the node used (42-char "41..." or 40-char body; the lengths never
// collide), so a hit costs one lookup and no string work; only validated input is stored.
function cachedBase58(key: string, body40: string): string {
  const out = encodeBody(body40);
  if (base58Cache.size >= BASE58_CACHE_MAX) base58Cache.clear();
  base58Cache.set(key, out);
  return out;
}

/** "41" + 40 hex (transaction fields) -> "T...". Throws on anything else. */
export function tronHexToBase58(hex: string): string {
  const hit = base58Cache.get(hex);
  if (hit !== undefined) return hit;
  if (!HEX21.test(hex)) throw new Error(`not a 21-byte Tron hex address: ${JSON.stringify(hex)}`);
  return cachedBase58(hex, hex.slice(2));
}

/** 20-byte body without the 0x41 version (event logs, ABI words) -> "T...". */
export function tronBodyToBase58(body40: string): string {
  const hit = base58Cache.get(body40);
  if (hit !== undefined) return hit;
  const s = body40.startsWith('0x') ? body40.slice(2) : body40;
  if (!HEX40.test(s)) throw new Error(`not a 20-byte address body: ${JSON.stringify(body40)}`);
  return s === body40 ? cachedBase58(body40, s) : encodeBody(s);
}

/** "T..." -> lower-case "41..." hex. Throws with the validation reason when invalid. */
export function tronBase58ToHex(address: string): string {
  const check = checkTronAddress(address);
  if (!check.ok) throw new Error(`invalid Tron address ${JSON.stringify(address)}: ${check.reason}`);
  return check.hex;
}

/** Public key (33-byte compressed or 65-byte uncompressed) -> "T...": keccak256 of X‖Y, last 20 bytes. */
export function tronAddressFromPublicKey(publicKey: Uint8Array): string {
  const uncompressed = publicKey.length === 65 ? publicKey : pointCompress(publicKey, false);
  if (uncompressed.length !== 65 || uncompressed[0] !== 0x04) throw new Error('not a secp256k1 public key');
  // Not cached: derived addresses are all distinct and would only push hot ones out.
  return encodeBody(keccak256(uncompressed.subarray(1)).slice(-40));
}
