import { type Client, createClient } from 'graphql-ws';
import WebSocket from 'ws';

/** A graphql-ws client to a gateway URL (http or ws), with an API key in connectionParams when given. */
export function connectWs(url: string, secret?: string): Client {
  return createClient({
    url: url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    connectionParams: secret ? { authorization: `Bearer ${secret}` } : {},
    // Tests want the first failure, not a reconnect that hides it.
    retryAttempts: 0,
  });
}

export interface WsSub {
  results: { data?: any; errors?: { message: string; extensions?: { code?: string; reason?: string } }[] }[];
  /** What the server ended the operation with: GraphQL errors or a close event. */
  error?: any;
  completed: boolean;
  ended: Promise<void>;
  stop(): void;
}

/** Collects every result of one operation until it ends. */
export function subscribeWs(client: Client, query: string, variables: Record<string, unknown> = {}): WsSub {
  const sub = { results: [], completed: false } as unknown as WsSub;
  sub.ended = new Promise<void>((resolve) => {
    sub.stop = client.subscribe(
      { query, variables },
      {
        next: (r) => void sub.results.push(r as WsSub['results'][number]),
        error: (e) => {
          sub.error = e;
          resolve();
        },
        complete: () => {
          sub.completed = true;
          resolve();
        },
      },
    );
  });
  return sub;
}

/** The code the operation ended with, whichever way the server ended it. */
export function wsEndCode(sub: WsSub): string | undefined {
  if (Array.isArray(sub.error)) return sub.error[0]?.extensions?.code;
  return sub.results.at(-1)?.errors?.[0]?.extensions?.code;
}

export async function waitUntil(check: () => boolean, what: string, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
