import type { ChainError, RpcEndpointConfig, RpcTransport } from '../types';
import type { BackoffPolicy } from './backoff';
import type { EndpointHealth, EndpointState } from './health';

// The pool's public face: what callers configure, pass per call and get back.

export interface RpcPoolOptions {
  /** Network id, prefixed to error messages so a log line says which chain failed. */
  name?: string;
  /** Per-request deadline (one HTTP exchange, body included; time spent queued does not count). Default 10 s. */
  timeoutMs?: number;
  /** Requests one call may make across all endpoints, first included. Default: every endpoint once, plus one retry (at least 3). */
  maxAttempts?: number;
  /** Delay before asking an endpoint again within one call (full jitter). Default 250 ms doubling up to 5 s. */
  backoff?: Partial<BackoffPolicy>;
  /** Consecutive failed requests after which an endpoint is skipped for `coolDownMs`. Default 3. */
  failureThreshold?: number;
  /** How long an open circuit keeps an endpoint out; then one trial request decides. Default 30 s. */
  coolDownMs?: number;
  /** A successful answer slower than this marks the endpoint degraded (tried after healthy ones). Default 2 s. */
  slowMs?: number;
  /** Requests in flight at once for the whole pool; further callers queue (FIFO). Default 8. */
  maxConcurrency?: number;
  /** Callers allowed to wait for a slot; beyond it calls fail at once (transient). Default unbounded. */
  maxQueue?: number;
  /**
   * Called synchronously whenever an endpoint moves between healthy, degraded and down, e.g. to log
   * or export a metric; the labels carry no credentials. Exceptions it throws are swallowed: a
   * monitoring hook must not break RPC calls.
   */
  onHealthChange?: (change: HealthChange) => void;
  /** Epoch-millisecond clock for circuits and health timestamps (tests). */
  now?: () => number;
  /** [0, 1) source for the backoff jitter (tests). */
  random?: () => number;
}

export interface RpcCallOptions<T = unknown> {
  /**
   * Rejects a well-formed but implausible answer (a tip far behind the others, an empty block from
   * an unsynced node): return false or a reason string. The endpoint is then treated as lying: it
   * counts as a failure and the call moves on to another endpoint without retrying this one.
   * Exceptions it throws reach the caller unchanged and end the call.
   */
  validate?: (result: T) => boolean | string | void;
  /** Overrides the pool's per-request deadline for this call (e.g. a heavy trace). */
  timeoutMs?: number;
  /** Overrides the pool's attempt budget (e.g. 1 for a call the caller retries itself). */
  maxAttempts?: number;
  /** Aborts the call, queued or in flight; the endpoint's health is not affected. */
  signal?: AbortSignal;
  /** Restricts the call to endpoints with a capability, e.g. `(e) => e.supportsTracing === true`. */
  filter?: (endpoint: RpcEndpointConfig) => boolean;
}

/** One endpoint's answer to `callAll` / `postAll`. */
export type RpcAnswer<T> =
  | { index: number; endpoint: string; ok: true; result: T; latencyMs: number }
  | { index: number; endpoint: string; ok: false; error: ChainError; latencyMs: number | null };

export interface PoolHealth {
  endpoints: EndpointHealth[];
  inFlight: number;
  queued: number;
}

export interface HealthChange {
  index: number;
  endpoint: string;
  from: EndpointState;
  to: EndpointState;
  health: EndpointHealth;
}

/** The pooled transport. Source-compatible with RpcTransport: the extra parameters are optional. */
export interface RpcPool extends RpcTransport {
  /**
   * JSON-RPC call, called by watchers and signers for every node query. Retried and failed over
   * on transient failures, so `method` must be safe to repeat: reads are, and broadcasts are by
   * the signer contract (a known transaction is accepted again or reported as known). Pass
   * `maxAttempts: 1` for anything that is not.
   */
  call<T = unknown>(method: string, params?: unknown[], opts?: RpcCallOptions<T>): Promise<T>;
  /** JSON POST to a path of the node's HTTP API (Tron), with the same retries and failover as `call`; same idempotency rule. */
  post<T = unknown>(path: string, body: unknown, opts?: RpcCallOptions<T>): Promise<T>;
  /**
   * Asks every endpoint whose circuit admits traffic, once each and in parallel, and returns every
   * answer in configuration order. Meant for tip queries (eth_blockNumber, getblockcount) where a
   * node that lags or lies must not decide the height: take the highest of the `ok` answers, e.g.
   * `Math.max(...answers.filter((a) => a.ok).map((a) => Number(a.result)))`, and pair it with a
   * `validate` bound if a node could lie upwards. Throws only when no endpoint answered: the
   * definitive error if a node gave one, otherwise RpcUnavailableError. Read-only methods only;
   * idempotent as such.
   */
  callAll<T = unknown>(method: string, params?: unknown[], opts?: RpcCallOptions<T>): Promise<RpcAnswer<T>[]>;
  /** `callAll` for Tron-style paths (/wallet/getnowblock). Read-only paths only. */
  postAll<T = unknown>(path: string, body: unknown, opts?: RpcCallOptions<T>): Promise<RpcAnswer<T>[]>;
  /** Called by health endpoints and metrics at any time; read-only, returns a copy. */
  health(): PoolHealth;
  /** Called at shutdown: aborts requests in flight and rejects queued and later calls. Idempotent. */
  close(): Promise<void>;
}
