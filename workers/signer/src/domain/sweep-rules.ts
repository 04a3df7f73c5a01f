/**
 * What the signer lets a collector step move, pure. Each merchant's funds stay in that merchant's
 * own addresses: a sweep or consolidation goes from the merchant's USER addresses to one of its
 * wallets (HOT, TOKENS_COLLECTOR or COLD) on the same network; the only transfer into a USER
 * address is gas for it (the network's native coin, or Tron energy lent and taken back) sent from
 * the merchant's HOT or TOKENS_COLLECTOR wallet. Owners come from the address subgraph
 * (`address.lookup`), never from the request.
 */

export type AddressType = 'USER' | 'HOT' | 'COLD' | 'TOKENS_COLLECTOR';

export type Owner =
  | { found: false }
  | {
      found: true;
      merchantId: string;
      networkId: string;
      type: AddressType;
      /** COLD only: whether funds may go to it now (screened and cooled off, or approved), and its status. */
      coldUsable?: boolean;
      coldStatus?: string;
    };

const WALLETS: readonly AddressType[] = ['HOT', 'TOKENS_COLLECTOR', 'COLD'];
const KEYED: readonly AddressType[] = ['HOT', 'TOKENS_COLLECTOR'];

export interface TransferFacts {
  merchantId: string;
  networkId: string;
  /** USER: a derived receive address; KEY: a standalone wallet key (HOT or TOKENS_COLLECTOR). */
  fromType: 'USER' | 'KEY';
  /** The native coin or a Tron resource: what a gas top-up (or energy lent) to a USER address moves. */
  gasForUser: boolean;
  from: string;
  to: string;
  source: Owner;
  destination: Owner;
}

/** null when the merchant may move its funds this way; else why not (for the log and the caller). */
export function transferRefusal(f: TransferFacts): string | null {
  const src = ownedBy(f.source, f.merchantId, f.networkId, f.fromType === 'USER' ? ['USER'] : KEYED, `source ${f.from}`);
  if (src) return src;
  const userAllowed = f.fromType === 'KEY' && f.gasForUser;
  return ownedBy(f.destination, f.merchantId, f.networkId, userAllowed ? [...WALLETS, 'USER'] : WALLETS, `destination ${f.to}`);
}

export interface ConsolidationFacts {
  merchantId: string;
  networkId: string;
  /** Each distinct address spent from (derived from the merchant's account indexes), with its owner. */
  sources: { address: string; owner: Owner }[];
  destinations: { address: string; owner: Owner }[];
}

export function consolidationRefusal(f: ConsolidationFacts): string | null {
  for (const s of f.sources) {
    const r = ownedBy(s.owner, f.merchantId, f.networkId, ['USER'], `source ${s.address}`);
    if (r) return r;
  }
  for (const d of f.destinations) {
    const r = ownedBy(d.owner, f.merchantId, f.networkId, WALLETS, `destination ${d.address}`);
    if (r) return r;
  }
  return null;
}

function ownedBy(owner: Owner, merchantId: string, networkId: string, types: readonly AddressType[], what: string): string | null {
  if (!owner.found) return `${what} is not a registered address`;
  if (owner.merchantId !== merchantId) return `${what} belongs to another merchant`;
  if (owner.networkId !== networkId) return `${what} is not on ${networkId}`;
  if (!types.includes(owner.type)) return `${what} is a ${owner.type} address, not ${types.join(' / ')}`;
  // A cold wallet is outside the hot side: nothing goes there before its cooling-off or approval.
  if (owner.type === 'COLD' && what.startsWith('destination') && owner.coldUsable !== true) {
    return `${what} is a COLD wallet not usable yet (${owner.coldStatus ?? 'status unknown'})`;
  }
  return null;
}
