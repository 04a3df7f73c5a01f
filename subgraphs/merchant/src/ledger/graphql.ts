import { allNetworks } from '@cpg/chains';
import { formatAmount } from '@cpg/core/money';
import type { CoinBalance, HistoryPage } from './ledger-reads';

let decimalsById: Map<string, number> | undefined;

/**
 * Decimals come from the network catalogue, the one place a coin is defined. A coin with ledger
 * rows but missing from the catalogue is a configuration fault, so it fails loudly (masked as an
 * internal error) instead of printing amounts at a guessed scale.
 */
export function coinDecimals(coinId: string): number {
  decimalsById ??= new Map(allNetworks().flatMap((n) => n.coins.map((c) => [c.id, c.decimals] as const)));
  const d = decimalsById.get(coinId);
  if (d === undefined) throw new Error(`ledger holds coin ${coinId}, which no configured network defines`);
  return d;
}

/**
 * Shape of `Balance`. Debt is not in the contract; it shows in the history as its own entries.
 * `pendingScreening` is the part of held waiting for compliance's decision on the sender.
 */
export function toBalanceNode(b: CoinBalance & { pendingScreening?: bigint }) {
  const d = coinDecimals(b.coinId);
  return {
    coin: { id: b.coinId },
    available: formatAmount(b.available, d),
    pending: formatAmount(b.pending, d),
    held: formatAmount(b.held, d),
    custody: formatAmount(b.custody, d),
    pendingScreening: formatAmount(b.pendingScreening ?? 0n, d),
  };
}

/**
 * Shape of `LedgerEntryConnection`. One posting moves money between several of the merchant's
 * accounts (a confirmation takes from pending and gives to available), so an entry's `kind` names
 * both the posting and the account, e.g. "deposit_confirmed.available", and `balanceAfter` is that
 * account's balance.
 */
export function toLedgerConnection(page: HistoryPage) {
  return {
    nodes: page.entries.map((e) => {
      const d = coinDecimals(e.coinId);
      return {
        id: e.id,
        coin: { id: e.coinId },
        amount: formatAmount(e.amount, d),
        kind: `${e.kind}.${e.accountKind}`,
        reference: e.reference,
        createdAt: e.createdAt,
        balanceAfter: formatAmount(e.balanceAfter, d),
      };
    }),
    pageInfo: { hasNextPage: page.hasNextPage, endCursor: page.endCursor },
  };
}
