import { TextEncoder } from 'node:util';
import type { CheckoutPayment, CheckoutSource, WatchEvent } from '../src/types';

// jsdom leaves out TextEncoder, which qrcode needs; browsers and Node have it.
globalThis.TextEncoder ??= TextEncoder as typeof globalThis.TextEncoder;

export const NOW = Date.parse('2026-01-01T12:00:00Z');

export function payment(over: Partial<CheckoutPayment> = {}): CheckoutPayment {
  return {
    id: 'p1',
    description: 'Order #42',
    status: 'PENDING',
    amount: '25',
    amountReceived: '0',
    amountConfirmed: '0',
    amountDue: '25',
    paidLate: false,
    expiresAt: new Date(NOW + 14 * 60_000 + 5_000).toISOString(),
    updatedAt: new Date(NOW).toISOString(),
    paymentUri: 'ethereum:0xdAC17F958D2ee523a2206206994597C13D831ec7@1/transfer?address=0x1111111111111111111111111111111111111111&uint256=25000000',
    coin: {
      id: 'ethereum:USDT',
      symbol: 'USDT',
      name: 'Tether USD',
      decimals: 6,
      contract: '0xdAC17F958D2ee523a2206206994597C13D831ec7',
      network: { id: 'ethereum', name: 'Ethereum', family: 'EVM', confirmations: 12, testnet: false, status: { available: true } },
    },
    address: { address: '0x1111111111111111111111111111111111111111' },
    deposits: [],
    ...over,
  };
}

export const tron = (over: Partial<CheckoutPayment> = {}) =>
  payment({
    coin: {
      id: 'tron:USDT',
      symbol: 'USDT',
      name: 'Tether USD',
      decimals: 6,
      contract: 'TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t',
      network: { id: 'tron', name: 'Tron', family: 'TRON', confirmations: 19, testnet: false, status: { available: true } },
    },
    address: { address: 'TXYZopYRdj2D9XRtbG411XZZ3kM5VkAeBf' },
    paymentUri: 'tron:TXYZopYRdj2D9XRtbG411XZZ3kM5VkAeBf?amount=25&token=TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t',
    ...over,
  });

/** A CheckoutSource driven by the test: what load() answers, and pushes on the live channel. */
export function fakeSource(initial: CheckoutPayment | null | Error) {
  let next: CheckoutPayment | null | Error = initial;
  const listeners = new Set<(e: WatchEvent) => void>();
  const source: CheckoutSource & { loads: number; watching: () => number } = {
    loads: 0,
    load: async () => {
      source.loads++;
      if (next instanceof Error) throw next;
      return next;
    },
    watch: (_token, listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    watching: () => listeners.size,
  };
  return {
    source,
    answer: (p: CheckoutPayment | null | Error) => (next = p),
    emit: (e: WatchEvent) => listeners.forEach((l) => l(e)),
  };
}
