import { z } from 'zod';
import { type AddressShape, addressKey, addressShape } from './address';

/**
 * The OFAC SDN list's digital-currency addresses, indexed for lookups per network family.
 *
 * OFAC publishes addresses per asset code (XBT, ETH, USDT, TRX, LTC, ...), and the generated
 * per-asset lists (0xB10C/ofac-sanctioned-digital-currency-addresses) keep that split. What matters
 * for screening is where an address can send from, not which asset OFAC saw it with:
 * - EVM networks: every `0x...` entry of any asset (ETH, USDT, USDC, ARB, BSC, BNB, ETC): one key
 *   controls the same address on every EVM chain;
 * - Tron: every `T...` entry (TRX, and the TRC-20 entries of USDT);
 * - Bitcoin family: the asset of the network's coin (XBT for bitcoin, LTC for litecoin), and the
 *   Omni USDT entries for bitcoin.
 */
export interface SanctionsMeta {
  /** Date of the list (YYYY-MM-DD): the snapshot's date for shipped lists, the download day for updated ones. */
  date: string;
  /** Where it came from (a repository, a URL). */
  source: string;
}

export interface SanctionHit {
  /** The OFAC asset code(s) the address is listed under. */
  assets: string[];
  listDate: string;
}

export const ASSET_CODES = [
  'XBT',
  'ETH',
  'LTC',
  'TRX',
  'USDT',
  'USDC',
  'BCH',
  'BSV',
  'BTG',
  'DASH',
  'ETC',
  'XMR',
  'XRP',
  'XVG',
  'ZEC',
  'ARB',
  'BSC',
  'BNB',
  'SOL',
] as const;

/** One asset file: a JSON array of address strings; anything else is refused. */
export const assetListSchema = z.array(z.string().min(1).max(200)).max(100_000);

/** Which OFAC assets speak for a Bitcoin-family network, by its coin symbol. */
const BITCOIN_FAMILY_ASSETS: Record<string, string[]> = { BTC: ['XBT', 'USDT'], LTC: ['LTC'], BCH: ['BCH'], DASH: ['DASH'], ZEC: ['ZEC'] };

export class SanctionsList {
  private readonly byShape = new Map<AddressShape, Map<string, string[]>>();
  private readonly byAsset = new Map<string, Map<string, string[]>>();
  readonly size: number;

  constructor(
    lists: Record<string, readonly string[]>,
    readonly meta: SanctionsMeta,
  ) {
    const all = new Set<string>();
    for (const [asset, addresses] of Object.entries(lists)) {
      const own = new Map<string, string[]>();
      this.byAsset.set(asset, own);
      for (const raw of addresses) {
        const address = raw.trim();
        if (!address) continue;
        const key = addressKey(address);
        all.add(key);
        push(own, key, asset);
        const shape = addressShape(address);
        if (shape !== 'OTHER') {
          let m = this.byShape.get(shape);
          if (!m) this.byShape.set(shape, (m = new Map()));
          push(m, key, asset);
        }
      }
    }
    this.size = all.size;
  }

  /**
   * Whether `address` is listed for a network of `family` whose native coin is `coinSymbol`.
   * Unknown families fall back to every asset (a listed address is never missed for lack of a mapping).
   */
  lookup(family: string, coinSymbol: string, address: string): SanctionHit | null {
    return this.lookupKey(family, coinSymbol, addressKey(address));
  }

  /** As `lookup`, for a key already made with addressKey. */
  lookupKey(family: string, coinSymbol: string, key: string): SanctionHit | null {
    let assets: string[] | undefined;
    if (family === 'EVM') assets = this.byShape.get('EVM')?.get(key);
    else if (family === 'TRON') assets = this.byShape.get('TRON')?.get(key);
    else if (family === 'BITCOIN' && BITCOIN_FAMILY_ASSETS[coinSymbol]) {
      const found = BITCOIN_FAMILY_ASSETS[coinSymbol]!.flatMap((a) => this.byAsset.get(a)?.get(key) ?? []);
      assets = found.length ? found : undefined;
    } else {
      const found = [...this.byAsset.values()].flatMap((m) => m.get(key) ?? []);
      assets = found.length ? found : undefined;
    }
    return assets ? { assets: [...new Set(assets)].sort(), listDate: this.meta.date } : null;
  }

  /** Every listed address key (for benchmarks and the bare-Set baseline). */
  keys(): string[] {
    const out = new Set<string>();
    for (const m of this.byAsset.values()) for (const k of m.keys()) out.add(k);
    return [...out];
  }
}

function push(m: Map<string, string[]>, key: string, asset: string): void {
  const cur = m.get(key);
  if (cur) {
    if (!cur.includes(asset)) cur.push(asset);
  } else m.set(key, [asset]);
}
