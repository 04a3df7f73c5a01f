import type { NetworkConfig } from '@cpg/chains';

export type WatchedType = 'USER' | 'HOT' | 'COLD' | 'TOKENS_COLLECTOR';
const TYPES: WatchedType[] = ['USER', 'HOT', 'COLD', 'TOKENS_COLLECTOR'];

export interface WatchEntry {
  addressId: string;
  merchantId: string;
  type: WatchedType;
}

/**
 * The form addresses are compared in. EVM addresses arrive checksummed from the address service
 * and lower-case from nodes, so they compare lower-case; bech32 is case-insensitive (lower-case
 * is canonical); base58 (legacy Bitcoin, Tron) is case-sensitive and stays as it is.
 */
export function watchKey(network: Pick<NetworkConfig, 'family' | 'bitcoin'>, address: string): string {
  const a = address.trim();
  if (network.family === 'EVM') return a.toLowerCase();
  if (network.family === 'BITCOIN') {
    const lower = a.toLowerCase();
    const hrp = network.bitcoin?.bech32;
    if (hrp && lower.startsWith(`${hrp}1`)) return lower;
  }
  return a;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/**
 * The in-memory watch list of one network, sized for millions of addresses. A Map of a million
 * strings plus an object per entry costs well over 200 MB, so this is an open-addressing hash
 * table over typed arrays: key bytes in one pool, ids packed (16 bytes a UUID), merchant ids
 * interned. About 80 bytes per EVM address, and a lookup hashes the string once without
 * allocating.
 */
export class WatchList {
  private pool = new Uint8Array(64 * 1024);
  private poolUsed = 0;
  private rows = 0;
  private keyOffset = new Uint32Array(1024);
  private keyLength = new Uint8Array(1024);
  private hashes = new Uint32Array(1024);
  private ids = new Uint8Array(16 * 1024);
  private merchants = new Uint32Array(1024);
  private types = new Uint8Array(1024);
  /** Row + 1 per slot; 0 is empty. Kept at most 60% full so probe chains stay short. */
  private slots = new Int32Array(2048);
  private readonly merchantIds: string[] = [];
  private readonly merchantIndex = new Map<string, number>();

  constructor(readonly network: Pick<NetworkConfig, 'id' | 'family' | 'bitcoin'>) {}

  get size(): number {
    return this.rows;
  }

  /**
   * Idempotent: adding an address again overwrites its entry, for the same merchant only. An
   * address has one owner: another merchant's entry for a watched address is refused (false) and
   * the first owner keeps it.
   */
  add(address: string, entry: WatchEntry): boolean {
    const key = watchKey(this.network, address);
    if (key.length === 0 || key.length > 255) throw new Error(`address of ${key.length} characters cannot be watched`);
    for (let i = 0; i < key.length; i++) if (key.charCodeAt(i) > 127) throw new Error(`address ${key} is not ASCII`);
    const h = hashOf(key);
    let row = this.find(key, h);
    if (row < 0) {
      row = this.rows++;
      this.ensureRows(this.rows);
      this.ensurePool(this.poolUsed + key.length);
      this.keyOffset[row] = this.poolUsed;
      this.keyLength[row] = key.length;
      for (let i = 0; i < key.length; i++) this.pool[this.poolUsed + i] = key.charCodeAt(i);
      this.poolUsed += key.length;
      this.hashes[row] = h;
      if (this.rows > this.slots.length * 0.6) this.rehash(this.slots.length * 2);
      else this.place(row, h);
    } else if (this.merchantIds[this.merchants[row]!] !== entry.merchantId) {
      return false;
    }
    packUuid(entry.addressId, this.ids, row * 16);
    let m = this.merchantIndex.get(entry.merchantId);
    if (m === undefined) {
      m = this.merchantIds.length;
      this.merchantIds.push(entry.merchantId);
      this.merchantIndex.set(entry.merchantId, m);
    }
    this.merchants[row] = m;
    this.types[row] = TYPES.indexOf(entry.type);
    return true;
  }

  /** Lookup with a key already normalised (the scan loop's hot path normalises once). */
  getByKey(key: string): WatchEntry | undefined {
    const row = this.find(key, hashOf(key));
    if (row < 0) return undefined;
    return { addressId: unpackUuid(this.ids, row * 16), merchantId: this.merchantIds[this.merchants[row]!]!, type: TYPES[this.types[row]!]! };
  }

  hasKey(key: string): boolean {
    return this.find(key, hashOf(key)) >= 0;
  }

  get(address: string): WatchEntry | undefined {
    return this.getByKey(watchKey(this.network, address));
  }

  private find(key: string, h: number): number {
    const mask = this.slots.length - 1;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const r = this.slots[i]!;
      if (r === 0) return -1;
      const row = r - 1;
      if (this.hashes[row] === h && this.keyEquals(row, key)) return row;
    }
  }

  private keyEquals(row: number, key: string): boolean {
    if (this.keyLength[row] !== key.length) return false;
    const at = this.keyOffset[row]!;
    for (let i = 0; i < key.length; i++) if (this.pool[at + i] !== key.charCodeAt(i)) return false;
    return true;
  }

  private place(row: number, h: number): void {
    const mask = this.slots.length - 1;
    let i = h & mask;
    while (this.slots[i] !== 0) i = (i + 1) & mask;
    this.slots[i] = row + 1;
  }

  private rehash(size: number): void {
    this.slots = new Int32Array(size);
    for (let row = 0; row < this.rows; row++) this.place(row, this.hashes[row]!);
  }

  private ensurePool(n: number): void {
    if (n <= this.pool.length) return;
    const pool = new Uint8Array(Math.max(n, this.pool.length * 2));
    pool.set(this.pool.subarray(0, this.poolUsed));
    this.pool = pool;
  }

  private ensureRows(n: number): void {
    if (n <= this.types.length) return;
    const cap = Math.max(n, this.types.length * 2);
    const grow = <T extends Uint8Array | Uint32Array>(old: T, make: (len: number) => T, width = 1): T => {
      const next = make(cap * width);
      next.set(old);
      return next;
    };
    this.keyOffset = grow(this.keyOffset, (l) => new Uint32Array(l));
    this.keyLength = grow(this.keyLength, (l) => new Uint8Array(l));
    this.hashes = grow(this.hashes, (l) => new Uint32Array(l));
    this.ids = grow(this.ids, (l) => new Uint8Array(l), 16);
    this.merchants = grow(this.merchants, (l) => new Uint32Array(l));
    this.types = grow(this.types, (l) => new Uint8Array(l));
  }
}

/** FNV-1a over the key's character codes. */
function hashOf(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

function packUuid(uuid: string, into: Uint8Array, at: number): void {
  const hex = uuid.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new Error(`not a UUID: ${uuid}`);
  for (let i = 0; i < 16; i++) into[at + i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
}

function unpackUuid(from: Uint8Array, at: number): string {
  let s = '';
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) s += '-';
    s += HEX[from[at + i]!];
  }
  return s;
}
