import { RemoteGraphQLDataSource } from '@apollo/gateway';
import type { GraphQLDataSourceProcessOptions } from '@apollo/gateway/dist/datasources/types';
import { type Identity, REQUEST_ID_HEADER, signIdentity } from '@cpg/shared/graphql';
import { GraphQLError } from 'graphql';

type DataSourceFetcher = NonNullable<NonNullable<ConstructorParameters<typeof RemoteGraphQLDataSource>[0]>['fetcher']>;

export interface GatewayContext {
  identity: Identity;
  requestId: string;
}

/**
 * A subgraph fetch that carries the caller's identity signed with the gateway secret, and that
 * passes a subgraph's own error (message and code) through when the subgraph answers non-2xx —
 * Apollo answers 400 for input it rejects during validation, which the stock data source would
 * turn into an opaque "400: Bad Request".
 */
export class SignedDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  constructor(
    url: string,
    private readonly secret: string,
  ) {
    // Node's own fetch (undici) rather than the stock make-fetch-happen: undici retires an idle
    // socket before the subgraph's keep-alive timeout (it reads the server's Keep-Alive hint), so
    // a request after a pause is never written to a socket the subgraph is closing ("socket hang
    // up" / ECONNRESET surfacing as INTERNAL_SERVER_ERROR under bursts).
    super({ url, fetcher: globalThis.fetch as unknown as DataSourceFetcher });
  }

  override willSendRequest({ request, context }: GraphQLDataSourceProcessOptions<GatewayContext>): void {
    const ctx = context as Partial<GatewayContext> | undefined;
    const identity: Identity = ctx?.identity ?? { kind: 'anonymous' };
    for (const [k, v] of Object.entries(signIdentity(identity, this.secret))) request.http?.headers.set(k, v);
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
