import { type Identity, type SignOptions, signRequest } from '@cpg/core/graphql';

/**
 * The headers the gateway would send with `gql(url, query, variables)` to `subgraph`, for tests
 * that call a subgraph around the gateway on purpose. The signature covers the body, so this
 * builds it the way gql does (JSON of query and variables, in that order).
 */
export function gatewayHeaders(
  secret: string,
  subgraph: string,
  identity: Identity,
  query: string,
  variables: Record<string, unknown> = {},
  opts: SignOptions = {},
): Record<string, string> {
  return signRequest(identity, { method: 'POST', subgraph, body: JSON.stringify({ query, variables }) }, secret, opts);
}
