import { formatAmount } from '@cpg/core/money';

export interface Short {
  coin: { symbol: string; decimals: number };
  /** Base units the HOT wallet lacks (nothing is said of a part that is not short). */
  missing: bigint;
  /** What it is for: "to pay", "for gas", ... */
  purpose: string;
}

/**
 * The end of a WAITING_FUNDS reason: what the HOT wallet lacks in whole coins and where to send
 * it, so the operator can act without converting base units. Empty when nothing is short (a fee
 * estimate that moved between the check and the words).
 */
export function fundHint(wallet: string, shorts: Short[]): string {
  const parts = shorts.filter((s) => s.missing > 0n).map((s) => `${formatAmount(s.missing, s.coin.decimals)} ${s.coin.symbol} ${s.purpose}`);
  if (!parts.length) return '';
  return `; short by ${parts.join(' and ')}: send that to the HOT wallet ${wallet}`;
}
