import { RemoteGraphQLDataSource } from '@apollo/gateway';
import type { GraphQLDataSourceProcessOptions } from '@apollo/gateway/dist/datasources/types';
import { IDENTITY_HEADER, type Identity, REQUEST_ID_HEADER, decodeIdentity, encodeIdentity, signRequest } from '@cpg/core/graphql';
import { GraphQLError } from 'graphql';

type DataSourceFetcher = NonNullable<NonNullable<ConstructorParameters<typeof RemoteGraphQLDataSource>[0]>['fetcher']>;

/**
 * Node's fetch, signing each request just before it leaves: only here are the body bytes final
 * (Apollo serialises the request after willSendRequest), and the signature must cover exactly
 * those bytes, the method and the subgraph they go to. The identity arrives as a header set in
 * willSendRequest, the only place that sees the operation's context.
 */
export function signingFetcher(subgraph: string, secret: string, replicas: string[] = []): DataSourceFetcher {
  const pick = replicaPicker(replicas);
  const signedFetch = async (url: string, init: Parameters<DataSourceFetcher>[1] = {}) => {
    const headers = new Headers(init.headers);
    const identity = decodeIdentity(headers.get(IDENTITY_HEADER) ?? '');
    if (!identity) throw new Error(`subgraph ${subgraph}: refusing to send a request without an identity`);
    // Apollo always sends its JSON as a string; anything else would be a change to sign for.
    if (init.body !== undefined && typeof init.body !== 'string') throw new Error(`subgraph ${subgraph}: can only sign a string body`);
    const body = init.body ?? '';
    const method = (init.method ?? 'GET').toUpperCase();
    for (const [k, v] of Object.entries(signRequest(identity, { method, subgraph, body }, secret))) headers.set(k, v);
    const send = (target: string) => fetch(target, { method, headers, body, signal: init.signal as AbortSignal | undefined });
    if (replicas.length < 2) return send(url);
    return pick(send);
  };
  return signedFetch as unknown as DataSourceFetcher;
}

/** Connection errors that prove the request never reached the subgraph: safe to send elsewhere, mutations included. */
const NOT_SENT = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT']);
/** How long a replica that refused a connection is tried last. */
const REPLICA_PENALTY_MS = 5000;

function notSent(err: unknown): boolean {
  const cause = (err as { cause?: { code?: string } } | undefined)?.cause;
  return typeof cause?.code === 'string' && NOT_SENT.has(cause.code);
}

/**
 * Round robin over a subgraph's replicas, skipping one that refused a connection in the last few
 * seconds. A request moves to the next replica only when it provably never left (connection
 * refused, no route): one that failed after being sent may have had its effect, so its error is
 * the caller's (mutations carry idempotency keys for that retry).
 */
function replicaPicker(urls: string[]): (send: (url: string) => Promise<Response>) => Promise<Response> {
  let next = 0;
  const downUntil = new Map<string, number>();
  return async (send) => {
    const now = Date.now();
    const start = next++ % urls.length;
    const rotated = urls.map((_, i) => urls[(start + i) % urls.length]!);
    const order = [...rotated.filter((u) => (downUntil.get(u) ?? 0) <= now), ...rotated.filter((u) => (downUntil.get(u) ?? 0) > now)];
    let last: unknown;
    for (const target of order) {
      try {
        const res = await send(target);
        downUntil.delete(target);
        return res;
      } catch (err) {
        if (!notSent(err)) throw err;
        downUntil.set(target, Date.now() + REPLICA_PENALTY_MS);
        last = err;
      }
    }
    throw last;
  };
}

export interface GatewayContext {
  identity: Identity;
  requestId: string;
}

/**
 * A subgraph fetch that carries the caller's identity, signed with the gateway secret together
 * with the subgraph, method, body, time and a nonce (signingFetcher), and that passes a
 * subgraph's own error (message and code) through when the subgraph answers non-2xx — Apollo
 * answers 400 for input it rejects during validation, which the stock data source would turn
 * into an opaque "400: Bad Request".
 */
export class SignedDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  /**
   * `name`: the subgraph's name in the supergraph, which the subgraph checks it was signed for.
   * `replicas`: every URL of that subgraph when it runs replicated (the signature names the
   * subgraph, not the host, so any replica accepts it).
   */
  constructor(name: string, url: string, secret: string, replicas: string[] = []) {
    // Node's own fetch (undici) rather than the stock make-fetch-happen: undici retires an idle
    // socket before the subgraph's keep-alive timeout (it reads the server's Keep-Alive hint), so
    // a request after a pause is never written to a socket the subgraph is closing ("socket hang
    // up" / ECONNRESET surfacing as INTERNAL_SERVER_ERROR under bursts).
    super({ url, fetcher: signingFetcher(name, secret, replicas) });
  }

  override willSendRequest({ request, context }: GraphQLDataSourceProcessOptions<GatewayContext>): void {
    const ctx = context as Partial<GatewayContext> | undefined;
    const identity: Identity = ctx?.identity ?? { kind: 'anonymous' };
    request.http?.headers.set(IDENTITY_HEADER, encodeIdentity(identity));
    if (ctx?.requestId) request.http?.headers.set(REQUEST_ID_HEADER, ctx.requestId);
  }

  override async errorFromResponse(response: Parameters<RemoteGraphQLDataSource['errorFromResponse']>[0]): Promise<GraphQLError> {
    const body = await this.parseBody(response);
    const first =
      typeof body === 'object' && body && Array.isArray((body as { errors?: unknown[] }).errors)
        ? (body as { errors: { message?: string; extensions?: Record<string, unknown> }[] }).errors[0]
        : undefined;
    if (first?.message && typeof first.extensions?.code === 'string') {
      return new GraphQLError(first.message, { extensions: first.extensions });
    }
    return new GraphQLError(`${response.status}: ${response.statusText}`, {
      extensions: { code: response.status === 401 ? 'UNAUTHENTICATED' : 'UNAVAILABLE' },
    });
  }
}
