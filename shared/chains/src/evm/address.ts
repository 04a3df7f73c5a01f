import { checksumAddress } from './keccak';

/**
 * EIP-55 helpers shared by the codec (user input), the watcher (every address of every block)
 * and the signer. Pure, no I/O.
 */

const HEX40 = /^[0-9a-fA-F]{40}$/;

// Addresses repeat heavily from block to block (token contracts, exchange hot wallets, routers),
// so the tracker keeps recent checksums. Insertion-ordered Map evicting its oldest entry: FIFO
// rather than LRU, since refreshing on every hit would cost more than the occasional recompute.
const CACHE_LIMIT = 50_000;
const cache = new Map<string, string>();

/** Checksummed form of a 0x-prefixed, 40-hex-digit address in any case. Throws on other shapes. */
export function toChecksumAddress(address: string): string {
  // Nodes send lower-case addresses, which are also the keys: a repeat costs one lookup.
  const hit = cache.get(address);
  if (hit !== undefined) return hit;
  const sum = checksumAddress(address);
  if (sum === null) throw new Error(`not a 20-byte hex address: ${JSON.stringify(address)}`);
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
  const lower = sum.toLowerCase();
  cache.set(lower, sum);
  // Config and user input come checksummed (or upper-case): remember that spelling too.
  if (address !== lower) cache.set(address, sum);
  return sum;
}

/** Forgets cached checksums: benchmarks use it to measure the cold path. */
export function clearChecksumCache(): void {
  cache.clear();
}

export type AddressCheck = { ok: true; address: string } | { ok: false; reason: string };

/**
 * EIP-55 validation: all-lower and all-upper hex carry no checksum and are accepted (and
 * normalised); mixed case is a checksum and must match exactly, because a typo in a mixed-case
 * address is precisely what the checksum exists to catch.
 */
export function checkAddress(input: string): AddressCheck {
  if (!input.startsWith('0x') && !input.startsWith('0X')) return { ok: false, reason: 'must start with 0x' };
  const hex = input.slice(2);
  if (hex.length !== 40) return { ok: false, reason: `must have 40 hex digits after 0x, has ${hex.length}` };
  if (!HEX40.test(hex)) return { ok: false, reason: 'contains a character that is not a hex digit' };
  const checksummed = toChecksumAddress(input);
  const lower = hex.toLowerCase();
  const upper = hex.toUpperCase();
  if (hex !== lower && hex !== upper && `0x${hex}` !== checksummed) return { ok: false, reason: 'EIP-55 checksum mismatch (mixed case that does not match)' };
  return { ok: true, address: checksummed };
}

/** Address from the last 20 bytes of a 32-byte ABI word or log topic ("0x" + 64 hex). */
export function addressFromWord(word: string): string {
  return toChecksumAddress(`0x${word.slice(26)}`);
}

export const ZERO_ADDRESS = '0x0000000000000000000000000000000000000000';
