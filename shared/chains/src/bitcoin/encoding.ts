import { createHash } from 'node:crypto';

/**
 * Bech32/Bech32m (BIP173/BIP350) and Base58Check, written here rather than taken from the
 * libraries because address validation must say *why* an address is refused (a user typed it),
 * and the libraries only throw generic errors. Encoding is also on the derivation hot path.
 */

const CHARSET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
const CHARSET_REV = new Int8Array(128).fill(-1);
for (let i = 0; i < CHARSET.length; i++) CHARSET_REV[CHARSET.charCodeAt(i)] = i;

const BECH32_CONST = 1;
const BECH32M_CONST = 0x2bc830a3;
const GEN = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];

export type Bech32Variant = 'bech32' | 'bech32m';

function polymodStep(chk: number, value: number): number {
  const top = chk >>> 25;
  chk = ((chk & 0x1ffffff) << 5) ^ value;
  for (let i = 0; i < 5; i++) if ((top >>> i) & 1) chk ^= GEN[i]!;
  return chk;
}

function hrpChecksumStart(hrp: string): number {
  let chk = 1;
  for (let i = 0; i < hrp.length; i++) chk = polymodStep(chk, hrp.charCodeAt(i) >>> 5);
  chk = polymodStep(chk, 0);
  for (let i = 0; i < hrp.length; i++) chk = polymodStep(chk, hrp.charCodeAt(i) & 31);
  return chk;
}

/** Reasons are stable strings: the API returns them to users and tests compare them. */
export type Bech32Failure = 'too long' | 'too short' | 'mixed case' | 'no separator' | 'missing prefix' | 'invalid characters' | 'bad checksum';

export type Bech32Decoded = { ok: true; hrp: string; words: number[]; variant: Bech32Variant } | { ok: false; reason: Bech32Failure };

/** Decodes a Bech32 or Bech32m string (case-insensitive, not mixed), up to 90 characters. */
export function bech32Decode(input: string): Bech32Decoded {
  if (input.length > 90) return { ok: false, reason: 'too long' };
  let hasLower = false;
  let hasUpper = false;
  for (let i = 0; i < input.length; i++) {
    const c = input.charCodeAt(i);
    if (c < 33 || c > 126) return { ok: false, reason: 'invalid characters' };
    if (c >= 97 && c <= 122) hasLower = true;
    else if (c >= 65 && c <= 90) hasUpper = true;
  }
  if (hasLower && hasUpper) return { ok: false, reason: 'mixed case' };
  const s = input.toLowerCase();
  const sep = s.lastIndexOf('1');
  if (sep < 1) return { ok: false, reason: sep === 0 ? 'missing prefix' : 'no separator' };
  if (s.length - sep - 1 < 6) return { ok: false, reason: 'too short' };
  const hrp = s.slice(0, sep);
  let chk = hrpChecksumStart(hrp);
  const words: number[] = [];
  for (let i = sep + 1; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const v = c < 128 ? CHARSET_REV[c]! : -1;
    if (v < 0) return { ok: false, reason: 'invalid characters' };
    chk = polymodStep(chk, v);
    words.push(v);
  }
  words.length -= 6;
  if (chk === BECH32_CONST) return { ok: true, hrp, words, variant: 'bech32' };
  if (chk === BECH32M_CONST) return { ok: true, hrp, words, variant: 'bech32m' };
  return { ok: false, reason: 'bad checksum' };
}

/** Encodes 5-bit words under a lower-case hrp. */
export function bech32Encode(hrp: string, words: ArrayLike<number>, variant: Bech32Variant): string {
  let chk = hrpChecksumStart(hrp);
  let out = hrp + '1';
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    chk = polymodStep(chk, w);
    out += CHARSET[w];
  }
  for (let i = 0; i < 6; i++) chk = polymodStep(chk, 0);
  chk ^= variant === 'bech32' ? BECH32_CONST : BECH32M_CONST;
  for (let i = 0; i < 6; i++) out += CHARSET[(chk >>> (5 * (5 - i))) & 31];
  return out;
}

/** 8-bit bytes -> 5-bit words (padded), the segwit program encoding. */
export function toWords(bytes: Uint8Array): number[] {
  const words: number[] = [];
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < bytes.length; i++) {
    acc = ((acc << 8) | bytes[i]!) & 0xfff;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      words.push((acc >>> bits) & 31);
    }
  }
  if (bits > 0) words.push((acc << (5 - bits)) & 31);
  return words;
}

/** 5-bit words -> bytes; null when the padding is longer than 4 bits or not zero (BIP173). */
export function fromWords(words: ArrayLike<number>, start = 0): Uint8Array | null {
  const out: number[] = [];
  let acc = 0;
  let bits = 0;
  for (let i = start; i < words.length; i++) {
    acc = ((acc << 5) | words[i]!) & 0xfff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((acc >>> bits) & 0xff);
    }
  }
  if (bits >= 5 || ((acc << (8 - bits)) & 0xff) !== 0) return null;
  return Uint8Array.from(out);
}

export type SegwitFailure = Bech32Failure | 'missing witness version' | 'invalid witness version' | 'invalid padding' | 'invalid program length';

export type SegwitDecoded = { ok: true; hrp: string; version: number; program: Uint8Array } | { ok: false; reason: SegwitFailure };

/**
 * A segwit address under BIP350 rules: v0 must use Bech32, v1+ Bech32m. Whether a version is
 * *supported* (safe to pay to) is policy and decided by the caller.
 */
export function decodeSegwit(input: string): SegwitDecoded {
  const d = bech32Decode(input);
  if (!d.ok) return d;
  if (d.words.length < 1) return { ok: false, reason: 'missing witness version' };
  const version = d.words[0]!;
  if (version > 16) return { ok: false, reason: 'invalid witness version' };
  if ((version === 0) !== (d.variant === 'bech32')) return { ok: false, reason: 'bad checksum' };
  const program = fromWords(d.words, 1);
  if (!program) return { ok: false, reason: 'invalid padding' };
  if (program.length < 2 || program.length > 40) return { ok: false, reason: 'invalid program length' };
  if (version === 0 && program.length !== 20 && program.length !== 32) return { ok: false, reason: 'invalid program length' };
  return { ok: true, hrp: d.hrp, version, program };
}

export function encodeSegwit(hrp: string, version: number, program: Uint8Array): string {
  const words = toWords(program);
  words.unshift(version);
  return bech32Encode(hrp, words, version === 0 ? 'bech32' : 'bech32m');
}

const B58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
const B58_REV = new Int8Array(128).fill(-1);
for (let i = 0; i < B58.length; i++) B58_REV[B58.charCodeAt(i)] = i;

function sha256d(data: Uint8Array): Buffer {
  return createHash('sha256').update(createHash('sha256').update(data).digest()).digest();
}

export type Base58Decoded = { ok: true; payload: Uint8Array } | { ok: false; reason: 'invalid characters' | 'too short' | 'bad checksum' };

/** Base58Check -> payload (version byte(s) included, checksum removed). */
export function base58CheckDecode(input: string): Base58Decoded {
  if (input.length === 0) return { ok: false, reason: 'too short' };
  // Only strings a little longer than an extended key are ever meaningful here; bound the work.
  if (input.length > 200) return { ok: false, reason: 'invalid characters' };
  let n = 0n;
  let zeros = 0;
  let leading = true;
  for (let i = 0; i < input.length; i++) {
    const c = input.charCodeAt(i);
    const v = c < 128 ? B58_REV[c]! : -1;
    if (v < 0) return { ok: false, reason: 'invalid characters' };
    if (leading && v === 0) zeros++;
    else leading = false;
    n = n * 58n + BigInt(v);
  }
  const hex = n === 0n ? '' : n.toString(16);
  const body = Buffer.from(hex.length % 2 ? '0' + hex : hex, 'hex');
  const bytes = new Uint8Array(zeros + body.length);
  bytes.set(body, zeros);
  if (bytes.length < 5) return { ok: false, reason: 'too short' };
  const payload = bytes.subarray(0, bytes.length - 4);
  const check = sha256d(payload);
  for (let i = 0; i < 4; i++) if (check[i] !== bytes[bytes.length - 4 + i]) return { ok: false, reason: 'bad checksum' };
  return { ok: true, payload };
}

export function base58CheckEncode(payload: Uint8Array): string {
  const check = sha256d(payload);
  const bytes = new Uint8Array(payload.length + 4);
  bytes.set(payload);
  bytes.set(check.subarray(0, 4), payload.length);
  let n = BigInt('0x' + (Buffer.from(bytes).toString('hex') || '0'));
  let out = '';
  while (n > 0n) {
    out = B58[Number(n % 58n)] + out;
    n /= 58n;
  }
  for (let i = 0; i < bytes.length && bytes[i] === 0; i++) out = '1' + out;
  return out;
}

/** RIPEMD-160 of SHA-256: the public-key hash P2WPKH outputs and addresses commit to. */
export function hash160(data: Uint8Array): Buffer {
  return createHash('ripemd160').update(createHash('sha256').update(data).digest()).digest();
}
