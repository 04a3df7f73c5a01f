import type { WatchEntry } from './watchlist';

/** Address types whose outgoing transfers are our own money moving (sweeps, top-ups, payouts). */
const SENDING_TYPES = new Set(['HOT', 'TOKENS_COLLECTOR', 'USER']);

/**
 * A transfer is internal when it leaves one of the merchant's own addresses for another of the
 * same merchant: the ledger reconciles it, it is never a deposit. A transfer from another
 * merchant's address is a payment between merchants and stays a deposit.
 */
export function isInternalTransfer(from: WatchEntry | undefined, to: WatchEntry): boolean {
  return from !== undefined && SENDING_TYPES.has(from.type) && from.merchantId === to.merchantId;
}
