/**
 * What one failed request means for the pool. Kept pure (no I/O, no clock) so that the policy
 * that decides whether money-moving callers retry can be read and tested in one place.
 */

/** One failed request to one endpoint, as observed by the transport. */
export type RpcFailure =
  /** Connection refused or reset, DNS, TLS: the request may never have reached the node. */
  | { kind: 'network'; message: string }
  /** Our per-request deadline fired before a complete answer arrived. */
  | { kind: 'timeout'; timeoutMs: number }
  /** A non-2xx status without a JSON-RPC error body (proxies, load balancers, Tron's HTTP API). */
  | { kind: 'http'; status: number }
  /** A JSON-RPC error object answered by the node itself, whatever the HTTP status (Bitcoin Core uses 500). */
  | { kind: 'rpc'; code: number; message: string; status?: number }
  /** An answer that cannot be trusted: not JSON, wrong id, no result, or rejected by the caller's validate hook. */
  | { kind: 'invalid'; reason: string };

/**
 * - `transient`: the same request may succeed later or elsewhere: retry with backoff, fail over,
 *   and count it against the endpoint's health.
 * - `endpoint`: this endpoint cannot serve the request (bad credentials, wrong path, lying
 *   answers); retrying it now is pointless, another endpoint may do. Counts against its health.
 * - `request`: the node answered definitively about the request itself (reverted, invalid
 *   params, unknown transaction): asking again or elsewhere gives the same answer. The endpoint is
 *   working, so its health is not affected.
 */
export type FailureClass = 'transient' | 'endpoint' | 'request';

/** JSON-RPC code for "limit exceeded" (EIP-1474), used by providers for rate limits. */
export const RPC_LIMIT_EXCEEDED = -32005;
/** JSON-RPC "internal error": transient only when the message says the node timed out or lags. */
export const RPC_INTERNAL_ERROR = -32603;
/** Geth's generic server error, which it also uses for "header not found" on a lagging node. */
export const RPC_SERVER_ERROR = -32000;
/** Bitcoin Core RPC_IN_WARMUP: the node is still loading its block index. */
export const BITCOIN_RPC_IN_WARMUP = -28;

// Node answers that only say "not now" or "not on this node yet": another try or another node can
// give the real answer. Matched on messages because providers reuse generic codes for them.
const SERVER_SIDE_TRANSIENT = /time-?out|timed out|header not found/i;
const RATE_LIMITED = /rate[ -]?limit|too many requests|request rate exceeded/i;

/**
 * Whether a JSON-RPC error object answered by a node is worth retrying. Called for every JSON-RPC
 * error body; pure and idempotent.
 */
export function isTransientRpcError(code: number, message: string): boolean {
  if (code === RPC_LIMIT_EXCEEDED || code === BITCOIN_RPC_IN_WARMUP) return true;
  if ((code === RPC_INTERNAL_ERROR || code === RPC_SERVER_ERROR) && SERVER_SIDE_TRANSIENT.test(message)) return true;
  return RATE_LIMITED.test(message);
}

// Statuses a gateway or an overloaded node uses for "try again": these win even over a JSON-RPC
// error body, because Bitcoin Core and providers use them only for overload and warm-up.
const RETRY_STATUSES = new Set([408, 425, 429, 502, 503, 504]);
// Statuses that say the request itself is unacceptable, whichever node receives it.
const REQUEST_STATUSES = new Set([400, 413, 422]);

/**
 * Decides how the pool reacts to one failed request. Called once per failed attempt; pure and
 * idempotent (the same failure always gets the same class).
 */
export function classifyFailure(failure: RpcFailure): FailureClass {
  switch (failure.kind) {
    case 'network':
    case 'timeout':
      return 'transient';
    case 'invalid':
      return 'endpoint';
    case 'rpc':
      if (failure.status !== undefined && RETRY_STATUSES.has(failure.status)) return 'transient';
      return isTransientRpcError(failure.code, failure.message) ? 'transient' : 'request';
    case 'http':
      if (failure.status >= 500 || RETRY_STATUSES.has(failure.status)) return 'transient';
      if (REQUEST_STATUSES.has(failure.status)) return 'request';
      // 401/403/404/405...: credentials, path or method of this endpoint are wrong; another may be right.
      return 'endpoint';
  }
}

/** A one-line, credential-free description of a failure for errors and the health snapshot. */
export function describeFailure(failure: RpcFailure): string {
  switch (failure.kind) {
    case 'network':
      return `network error: ${failure.message}`;
    case 'timeout':
      return `timeout after ${failure.timeoutMs} ms`;
    case 'http':
      return `HTTP ${failure.status}`;
    case 'rpc':
      return `${failure.message} (${failure.code})`;
    case 'invalid':
      return `invalid answer: ${failure.reason}`;
  }
}
