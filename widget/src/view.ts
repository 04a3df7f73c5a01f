import type { CheckoutPayment } from './types';

export type ViewState = 'waiting' | 'partial' | 'confirming' | 'paid' | 'overpaid' | 'expired' | 'on_hold' | 'cancelled' | 'network_unavailable';

/** Which designed state the page shows for a payment. */
export function viewStateOf(p: CheckoutPayment): ViewState {
  const awaiting = p.status === 'PENDING' || p.status === 'PARTIALLY_PAID';
  // Only where the customer is about to pay: once money is seen, a chain outage changes nothing they can do.
  if (awaiting && p.coin.network.status && !p.coin.network.status.available) return 'network_unavailable';
  switch (p.status) {
    case 'PENDING':
      return 'waiting';
    case 'PARTIALLY_PAID':
      return 'partial';
    case 'CONFIRMING':
      return 'confirming';
    case 'PAID':
      return 'paid';
    case 'OVERPAID':
      return 'overpaid';
    case 'EXPIRED':
      return 'expired';
    case 'ON_HOLD':
      return 'on_hold';
    case 'CANCELLED':
      return 'cancelled';
  }
}

/** The least confirmed deposit still waiting decides when the payment completes. */
export function confirmationsOf(p: CheckoutPayment): { n: number; m: number } {
  const m = p.coin.network.confirmations;
  const waiting = p.deposits.filter((d) => d.status === 'SEEN');
  const n = waiting.length ? Math.min(...waiting.map((d) => d.confirmations)) : m;
  return { n: Math.min(n, m), m };
}

/** "USDT on Tron" alone reads too much like "USDT on Ethereum": the token standard is spelled out too. */
export function tokenStandardOf(p: CheckoutPayment, standards: Record<string, string>): string | null {
  if (!p.coin.contract) return null;
  if (p.coin.network.family === 'EVM' && /bsc|binance/i.test(p.coin.network.id)) return standards.BSC || null;
  return standards[p.coin.network.family] || null;
}
