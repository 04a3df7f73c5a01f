import { createClient } from 'graphql-ws';
import type { CheckoutPayment, CheckoutSource, WatchEvent } from './types';

// merchant { name } is the merchant's public face: the only Merchant field a checkout reader may see.
export const CHECKOUT_FIELDS = `id description status merchant { name } amount amountReceived amountConfirmed amountDue paidLate expiresAt updatedAt paymentUri
  coin { id symbol name decimals contract network { id name family confirmations testnet status { available } } }
  address { address }
  deposits { id amount confirmations status }`;

const CHECKOUT_QUERY = `query Checkout($token: String!) { checkout(token: $token) { ${CHECKOUT_FIELDS} } }`;
const CHECKOUT_SUBSCRIPTION = `subscription CheckoutUpdates($token: String) { paymentUpdated(checkoutToken: $token) { event payment { ${CHECKOUT_FIELDS} } } }`;

const BACKOFF_BASE_MS = 500;
const BACKOFF_MAX_MS = 30_000;

/** Full jittered exponential backoff: many open checkouts must not all reconnect in the same instant after an outage. */
export function backoffMs(retries: number, random = Math.random): number {
  return Math.round(random() * Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** retries));
}

/** The gateway's GraphQL endpoint: `?api=` wins, then the build's VITE_GRAPHQL_URL, then same-origin /graphql. */
export function resolveApiUrl(search: string, configured: string | undefined, origin: string): string {
  const fromQuery = new URLSearchParams(search).get('api');
  return new URL(fromQuery || configured || '/graphql', origin).toString();
}

export function gatewaySource(httpUrl: string): CheckoutSource {
  const wsUrl = httpUrl.replace(/^http/, 'ws');
  return {
    async load(token) {
      const res = await fetch(httpUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ query: CHECKOUT_QUERY, variables: { token } }),
      });
      if (!res.ok && res.status >= 500) throw new Error(`HTTP ${res.status}`);
      const body = (await res.json()) as { data?: { checkout: CheckoutPayment | null }; errors?: { message: string }[] };
      if (!body.data) throw new Error(body.errors?.[0]?.message ?? `HTTP ${res.status}`);
      return body.data.checkout;
    },
    watch(token, listener: (e: WatchEvent) => void) {
      const client = createClient({
        url: wsUrl,
        lazy: false,
        keepAlive: 15_000,
        retryAttempts: Infinity,
        shouldRetry: () => true,
        retryWait: (retries) => new Promise((r) => setTimeout(r, backoffMs(retries))),
        on: {
          connected: () => listener({ type: 'connected' }),
          closed: () => listener({ type: 'disconnected' }),
        },
      });
      let unsubscribe = () => undefined as void;
      let retryTimer: ReturnType<typeof setTimeout> | undefined;
      let stopped = false;
      const start = (failures: number) => {
        unsubscribe = client.subscribe<{ paymentUpdated: { event: string; payment: CheckoutPayment } }>(
          { query: CHECKOUT_SUBSCRIPTION, variables: { token } },
          {
            next: (r) => {
              failures = 0;
              if (r.data?.paymentUpdated) listener({ type: 'update', payment: r.data.paymentUpdated.payment, event: r.data.paymentUpdated.event });
            },
            error: (err) => {
              // GraphQL errors end the operation while the socket stays up: NOT_FOUND means the token
              // is wrong for good; anything else (rate limit, a restarting gateway) is tried again later.
              const errors = Array.isArray(err) ? (err as { extensions?: { code?: string } }[]) : [];
              if (errors.some((e) => e.extensions?.code === 'NOT_FOUND')) return listener({ type: 'not_found' });
              if (stopped) return;
              listener({ type: 'disconnected' });
              retryTimer = setTimeout(
                () => {
                  if (stopped) return;
                  start(failures + 1);
                  // The refetch that follows covers what happened while unsubscribed.
                  listener({ type: 'connected' });
                },
                Math.max(250, backoffMs(failures + 1)),
              );
            },
            complete: () => undefined,
          },
        );
      };
      start(0);
      return () => {
        stopped = true;
        clearTimeout(retryTimer);
        unsubscribe();
        void client.dispose();
      };
    },
  };
}
