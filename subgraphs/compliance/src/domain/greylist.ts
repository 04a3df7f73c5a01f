import { addressKey } from './address';

export type GreyAction = 'BLOCK' | 'REVIEW';

export interface GreyEntry {
  id: string;
  /** null: a global entry, managed by the operator, applying to every merchant. */
  merchantId: string | null;
  networkId: string;
  address: string;
  action: GreyAction;
  reason: string;
  source: string;
}

/**
 * The grey list in memory: (network, address key) -> entries. A merchant's screening sees the
 * global entries and its own, never another merchant's. The service reads the entries of one
 * address from Postgres and builds a one-address index; the benchmark loads 100,000 at once: both
 * go through `matching`.
 */
export class GreyListIndex {
  /** network -> address key -> entries. */
  private readonly byNetwork = new Map<string, Map<string, GreyEntry[]>>();
  private count = 0;

  constructor(entries: Iterable<GreyEntry> = []) {
    for (const e of entries) this.add(e);
  }

  add(e: GreyEntry): void {
    let m = this.byNetwork.get(e.networkId);
    if (!m) this.byNetwork.set(e.networkId, (m = new Map()));
    const k = addressKey(e.address);
    const cur = m.get(k);
    if (cur) cur.push(e);
    else m.set(k, [e]);
    this.count++;
  }

  matching(networkId: string, address: string, merchantId: string | null): readonly GreyEntry[] {
    return this.matchingKey(networkId, addressKey(address), merchantId);
  }

  /** As `matching`, for a key already made with addressKey. */
  matchingKey(networkId: string, key: string, merchantId: string | null): readonly GreyEntry[] {
    const all = this.byNetwork.get(networkId)?.get(key);
    if (!all) return NONE;
    return all.filter((e) => e.merchantId === null || e.merchantId === merchantId);
  }

  get size(): number {
    return this.count;
  }
}

const NONE: readonly GreyEntry[] = Object.freeze([]);

/**
 * Who may touch which entry: the operator manages global entries (merchantId null), a merchant
 * only its own. Returns the reason for a refusal, or null when allowed.
 */
export function greyListPermission(actor: { kind: 'operator' } | { kind: 'merchant'; merchantId: string }, entryMerchantId: string | null): string | null {
  if (actor.kind === 'operator') return entryMerchantId === null ? null : 'the operator manages global entries; this one belongs to a merchant';
  if (entryMerchantId === null) return 'only the operator manages global grey-list entries';
  return entryMerchantId === actor.merchantId ? null : 'this entry belongs to another merchant';
}
