export type PaymentStatus = 'PENDING' | 'PARTIALLY_PAID' | 'CONFIRMING' | 'PAID' | 'OVERPAID' | 'EXPIRED' | 'ON_HOLD' | 'CANCELLED';

/** The part of a Payment the checkout reads; the selection lives in api.ts (CHECKOUT_FIELDS). */
export interface CheckoutPayment {
  id: string;
  description: string | null;
  status: PaymentStatus;
  amount: string | null;
  amountReceived: string;
  amountConfirmed: string;
  amountDue: string | null;
  paidLate: boolean;
  expiresAt: string;
  updatedAt: string;
  paymentUri: string;
  /** Absent while anonymous callers may not resolve Merchant through federation. */
  merchant?: { name: string } | null;
  coin: {
    id: string;
    symbol: string;
    name: string;
    decimals: number;
    contract: string | null;
    network: {
      id: string;
      name: string;
      family: 'BITCOIN' | 'EVM' | 'TRON';
      confirmations: number;
      testnet: boolean;
      status?: { available: boolean } | null;
    };
  };
  address: { address: string };
  deposits: { id: string; amount: string; confirmations: number; status: 'SEEN' | 'CONFIRMED' | 'REORGED' | 'HELD' }[];
}

export type WatchEvent =
  | { type: 'update'; payment: CheckoutPayment; event: string }
  /** Every (re)connection of the live channel; the page refetches, since events may have been missed meanwhile. */
  | { type: 'connected' }
  | { type: 'disconnected' }
  | { type: 'not_found' };

/** Where the page gets its data: the GraphQL gateway in the app, a fake in component tests. */
export interface CheckoutSource {
  /** null: no payment has this token. Throws when the service cannot be reached. */
  load(token: string): Promise<CheckoutPayment | null>;
  /** Live updates until the returned function is called. */
  watch(token: string, listener: (e: WatchEvent) => void): () => void;
}
