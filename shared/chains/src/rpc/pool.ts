import { ChainError, type RpcEndpointConfig, type RpcTransport } from '../types';
import { DEFAULT_BACKOFF, backoffDelay, type BackoffPolicy } from './backoff';
import { classifyFailure, describeFailure, type FailureClass, type RpcFailure } from './classify';
import { joinPath, prepareEndpoint, scrub, type PreparedEndpoint } from './endpoint';
import { EndpointHealthTracker, type EndpointHealth, type EndpointState } from './health';
import { Limiter } from './limiter';

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

/** A JSON-RPC error object answered by a node. `cause` is the node's raw `{code, message, data}`, as before the pool existed. */
export class RpcError extends ChainError {
  readonly code: number;
  readonly data: unknown;

  constructor(
    message: string,
    transient: boolean,
    rpcError: { code: number; message: string; data?: unknown },
    /** Redacted URL of the endpoint that answered. */
    readonly endpoint: string,
  ) {
    super(message, transient, rpcError);
    this.name = 'RpcError';
    this.code = rpcError.code;
    this.data = rpcError.data;
  }
}

/** Every usable endpoint failed or was skipped; always transient, since no node answered about the request itself. */
export class RpcUnavailableError extends ChainError {
  constructor(
    message: string,
    readonly attempts: { endpoint: string; error: string }[],
    cause?: unknown,
  ) {
    super(message, true, cause);
    this.name = 'RpcUnavailableError';
  }
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

interface Endpoint extends PreparedEndpoint {
  tracker: EndpointHealthTracker;
}

type Interpretation = { ok: true; value: unknown } | { ok: false; failure: RpcFailure; data?: unknown };

/** How one kind of request is sent and how its answer is read; everything else is shared. */
interface Job {
  /** Names the request in messages: the method, or POST and the path. */
  what: string;
  url(endpoint: Endpoint): URL;
  body(id: number): string;
  interpret(status: number, text: string, id: number): Interpretation;
}

type Outcome<T> = { ok: true; value: T; latencyMs: number } | { ok: false; cls: FailureClass; error: ChainError; latencyMs: number };

// A lying node can send megabytes as an error message; messages are for humans and logs.
const MAX_MESSAGE = 300;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function clip(text: string): string {
  return text.length > MAX_MESSAGE ? `${text.slice(0, MAX_MESSAGE)}…` : text;
}

function isOk(status: number): boolean {
  return status >= 200 && status < 300;
}

function interpretJsonRpc(status: number, text: string, id: number): Interpretation {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const body = isRecord(json) ? json : null;
  const error = body?.error;
  if (body && error !== undefined && error !== null) {
    // Bitcoin Core answers RPC errors with HTTP 500 (404 for unknown methods) and this body: it is
    // the node's answer about the request, not a server failure, whatever the status says.
    if (isRecord(error) && typeof error.code === 'number' && typeof error.message === 'string') {
      // A null id is how JSON-RPC reports errors it could not tie to a request (parse errors).
      if (body.id !== id && body.id !== null && body.id !== undefined)
        return { ok: false, failure: { kind: 'invalid', reason: 'error for another request id' } };
      return { ok: false, failure: { kind: 'rpc', code: error.code, message: clip(error.message), status }, data: error.data };
    }
    if (isOk(status)) return { ok: false, failure: { kind: 'invalid', reason: 'malformed error object' } };
  }
  if (!isOk(status)) return { ok: false, failure: { kind: 'http', status } };
  if (!body) return { ok: false, failure: { kind: 'invalid', reason: json === undefined ? 'not JSON' : 'not a JSON-RPC response object' } };
  if (body.id !== id) return { ok: false, failure: { kind: 'invalid', reason: 'answer for another request id' } };
  if (!('result' in body)) return { ok: false, failure: { kind: 'invalid', reason: 'neither result nor error' } };
  return { ok: true, value: body.result };
}

function interpretJson(status: number, text: string): Interpretation {
  if (!isOk(status)) return { ok: false, failure: { kind: 'http', status } };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false, failure: { kind: 'invalid', reason: 'not JSON' } };
  }
}

function networkMessage(err: unknown): string {
  // undici reports "fetch failed" and hides the useful part (ECONNRESET, ECONNREFUSED...) in `cause`.
  const cause = (err as { cause?: { code?: unknown; message?: unknown } })?.cause;
  if (cause && typeof cause.code === 'string') return cause.code;
  if (cause && typeof cause.message === 'string') return cause.message;
  return err instanceof Error ? err.message : String(err);
}

/**
 * A signal that aborts when any source does, detached again by `dispose`. Stands in for
 * AbortSignal.any, which on some Node releases keeps every combined signal alive for as long as a
 * source lives, and the pool's own signal lives as long as the process.
 */
function follow(sources: (AbortSignal | undefined)[]): { signal: AbortSignal; abort(reason: unknown): void; dispose(): void } {
  const controller = new AbortController();
  const links: [AbortSignal, () => void][] = [];
  for (const source of sources) {
    if (!source) continue;
    if (source.aborted) {
      controller.abort(source.reason);
      break;
    }
    const onAbort = () => controller.abort(source.reason);
    source.addEventListener('abort', onAbort, { once: true });
    links.push([source, onAbort]);
  }
  return {
    signal: controller.signal,
    abort: (reason) => controller.abort(reason),
    dispose: () => {
      for (const [source, onAbort] of links) source.removeEventListener('abort', onAbort);
    },
  };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function positive(name: string, value: number, integer = false): number {
  if (!(value > 0) || (integer && !Number.isInteger(value))) throw new RangeError(`${name} must be ${integer ? 'a whole number ' : ''}> 0, got ${value}`);
  return value;
}

class Pool implements RpcPool {
  private readonly endpoints: Endpoint[];
  private readonly limiter: Limiter;
  private readonly closing = new AbortController();
  private readonly timeoutMs: number;
  private readonly maxAttempts: number;
  private readonly backoff: BackoffPolicy;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly prefix: string;
  private nextId = 0;

  constructor(
    configs: RpcEndpointConfig[],
    private readonly opts: RpcPoolOptions,
  ) {
    const policy = {
      failureThreshold: positive('failureThreshold', opts.failureThreshold ?? 3, true),
      coolDownMs: positive('coolDownMs', opts.coolDownMs ?? 30_000),
      slowMs: positive('slowMs', opts.slowMs ?? 2_000),
    };
    this.endpoints = configs.map((config, index) => {
      const prepared = prepareEndpoint(config, index);
      return { ...prepared, tracker: new EndpointHealthTracker(index, prepared.label, policy) };
    });
    this.timeoutMs = positive('timeoutMs', opts.timeoutMs ?? 10_000);
    this.maxAttempts = positive('maxAttempts', opts.maxAttempts ?? Math.max(3, configs.length + 1), true);
    this.backoff = { ...DEFAULT_BACKOFF, ...opts.backoff };
    this.limiter = new Limiter(opts.maxConcurrency ?? 8, opts.maxQueue);
    this.now = opts.now ?? Date.now;
    this.random = opts.random ?? Math.random;
    this.prefix = opts.name ? `${opts.name} ` : '';
  }

  async call<T = unknown>(method: string, params: unknown[] = [], opts: RpcCallOptions<T> = {}): Promise<T> {
    return this.run(this.jsonRpcJob(method, params), opts);
  }

  async post<T = unknown>(path: string, body: unknown, opts: RpcCallOptions<T> = {}): Promise<T> {
    return this.run(this.postJob(path, body), opts);
  }

  async callAll<T = unknown>(method: string, params: unknown[] = [], opts: RpcCallOptions<T> = {}): Promise<RpcAnswer<T>[]> {
    return this.fanOut(this.jsonRpcJob(method, params), opts);
  }

  async postAll<T = unknown>(path: string, body: unknown, opts: RpcCallOptions<T> = {}): Promise<RpcAnswer<T>[]> {
    return this.fanOut(this.postJob(path, body), opts);
  }

  health(): PoolHealth {
    return { endpoints: this.endpoints.map((e) => e.tracker.snapshot()), inFlight: this.limiter.inFlight, queued: this.limiter.queued };
  }

  async close(): Promise<void> {
    if (this.closing.signal.aborted) return;
    const err = new ChainError(`${this.prefix}rpc pool closed`, false);
    this.closing.abort(err);
    this.limiter.close(err);
  }

  private jsonRpcJob(method: string, params: unknown[]): Job {
    // Serialised once, up front: a bigint or a cycle in params is the caller's bug and must not
    // look like a network failure.
    const paramsJson = JSON.stringify(params);
    const methodJson = JSON.stringify(method);
    return {
      what: `${this.prefix}${method}`,
      url: (endpoint) => endpoint.url,
      body: (id) => `{"jsonrpc":"2.0","id":${id},"method":${methodJson},"params":${paramsJson}}`,
      interpret: interpretJsonRpc,
    };
  }

  private postJob(path: string, body: unknown): Job {
    const json = JSON.stringify(body ?? {});
    const shownPath = path.split('?')[0];
    return {
      what: `${this.prefix}POST ${shownPath}`,
      url: (endpoint) => joinPath(endpoint.url, path),
      body: () => json,
      interpret: (status, text) => interpretJson(status, text),
    };
  }

  private eligible(opts: RpcCallOptions<never>, what: string): Endpoint[] {
    if (this.closing.signal.aborted) throw this.closing.signal.reason;
    const eligible = opts.filter ? this.endpoints.filter((e) => opts.filter!(e.config)) : this.endpoints;
    if (eligible.length === 0) throw new ChainError(`${what}: no configured endpoint matches the filter`, false);
    return eligible;
  }

  private async run<T>(job: Job, opts: RpcCallOptions<T>): Promise<T> {
    const eligible = this.eligible(opts as RpcCallOptions<never>, job.what);
    const link = follow([opts.signal, this.closing.signal]);
    try {
      return await this.runLinked(job, opts, eligible, link.signal);
    } finally {
      link.dispose();
    }
  }

  private async runLinked<T>(job: Job, opts: RpcCallOptions<T>, eligible: Endpoint[], signal: AbortSignal): Promise<T> {
    const maxAttempts = opts.maxAttempts === undefined ? this.maxAttempts : positive('maxAttempts', opts.maxAttempts, true);
    const tries = new Map<Endpoint, number>();
    // Endpoints that cannot serve this request (credentials, lies): never asked again in this call.
    const excluded = new Set<Endpoint>();
    const failures: { endpoint: string; error: string }[] = [];
    let lastError: ChainError | undefined;
    let retry = 0;

    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      if (attempt > 0 && !this.choose(eligible, excluded, tries, true)) {
        // Every usable endpoint has been asked in this call: wait before asking one again. If none
        // is usable at all (circuits opened meanwhile), waiting would not help.
        if (!this.choose(eligible, excluded, tries, false)) break;
        await this.guard(job.what, opts.signal, sleep(backoffDelay(retry++, this.backoff, this.random), signal));
      }
      const release = await this.guard(job.what, opts.signal, this.limiter.acquire(signal));
      let outcome: Outcome<T>;
      let endpoint: Endpoint | undefined;
      try {
        // Chosen after the slot is granted: health may have changed while queued.
        endpoint = this.choose(eligible, excluded, tries, false);
        if (!endpoint) break;
        tries.set(endpoint, (tries.get(endpoint) ?? 0) + 1);
        outcome = await this.attempt(endpoint, job, opts, signal);
      } finally {
        release();
      }
      if (outcome.ok) return outcome.value;
      if (outcome.cls === 'request') throw outcome.error;
      if (outcome.cls === 'endpoint') excluded.add(endpoint);
      lastError = outcome.error;
      failures.push({ endpoint: endpoint.label, error: outcome.error.message });
    }

    if (!lastError) throw new RpcUnavailableError(`${job.what}: no endpoint available (${this.unavailableReason(eligible)})`, []);
    throw new RpcUnavailableError(`${job.what}: no endpoint answered after ${failures.length} attempt(s); last: ${lastError.message}`, failures, lastError);
  }

  private async fanOut<T>(job: Job, opts: RpcCallOptions<T>): Promise<RpcAnswer<T>[]> {
    const eligible = this.eligible(opts as RpcCallOptions<never>, job.what);
    const link = follow([opts.signal, this.closing.signal]);
    try {
      return await this.fanOutLinked(job, opts, eligible, link.signal);
    } finally {
      link.dispose();
    }
  }

  private async fanOutLinked<T>(job: Job, opts: RpcCallOptions<T>, eligible: Endpoint[], signal: AbortSignal): Promise<RpcAnswer<T>[]> {
    const targets = eligible.filter((e) => e.tracker.admission(this.now()) !== 'refused');
    if (targets.length === 0) throw new RpcUnavailableError(`${job.what}: no endpoint available (${this.unavailableReason(eligible)})`, []);

    const classes = new Map<number, FailureClass>();
    const answers = await Promise.all(
      targets.map(async (endpoint): Promise<RpcAnswer<T>> => {
        const base = { index: endpoint.index, endpoint: endpoint.label };
        const release = await this.guard(job.what, opts.signal, this.limiter.acquire(signal));
        try {
          // Another caller may have opened the circuit or taken the trial while this one queued.
          if (endpoint.tracker.admission(this.now()) === 'refused') {
            return { ...base, ok: false, error: new ChainError(`${job.what} via ${endpoint.label}: circuit open`, true), latencyMs: null };
          }
          const outcome = await this.attempt<T>(endpoint, job, opts, signal);
          if (outcome.ok) return { ...base, ok: true, result: outcome.value, latencyMs: outcome.latencyMs };
          classes.set(endpoint.index, outcome.cls);
          return { ...base, ok: false, error: outcome.error, latencyMs: outcome.latencyMs };
        } finally {
          release();
        }
      }),
    );
    if (answers.some((a) => a.ok)) return answers;
    const definitive = answers.find((a) => classes.get(a.index) === 'request');
    if (definitive && !definitive.ok) throw definitive.error;
    const failures = answers.map((a) => ({ endpoint: a.endpoint, error: a.ok ? '' : a.error.message }));
    throw new RpcUnavailableError(`${job.what}: no endpoint answered (${failures.map((f) => f.error).join('; ')})`, failures);
  }

  /**
   * Picks the endpoint for the next request: those not yet asked in this call first (failover
   * before retry), then by health, then configuration order (the operator's preference).
   */
  private choose(eligible: Endpoint[], excluded: Set<Endpoint>, tries: Map<Endpoint, number>, untriedOnly: boolean): Endpoint | undefined {
    const now = this.now();
    let best: Endpoint | undefined;
    let bestKey: [number, number] | undefined;
    for (const endpoint of eligible) {
      if (excluded.has(endpoint)) continue;
      const count = tries.get(endpoint) ?? 0;
      if (untriedOnly && count > 0) continue;
      const rank = endpoint.tracker.rank(now);
      if (rank === Number.POSITIVE_INFINITY) continue;
      // `eligible` is in configuration order, so strict comparison keeps the earlier endpoint on ties.
      if (!bestKey || count < bestKey[0] || (count === bestKey[0] && rank < bestKey[1])) {
        best = endpoint;
        bestKey = [count, rank];
      }
    }
    return best;
  }

  private unavailableReason(eligible: Endpoint[]): string {
    const until = eligible.map((e) => e.tracker.snapshot().circuitOpenUntil).filter((t): t is number => t !== null);
    if (until.length < eligible.length) return 'every endpoint failed or was excluded';
    return `all circuits open, next trial in ${Math.max(0, Math.min(...until) - this.now())} ms`;
  }

  /** One HTTP exchange with one endpoint; records its health and never retries. */
  private async attempt<T>(endpoint: Endpoint, job: Job, opts: RpcCallOptions<T>, signal: AbortSignal): Promise<Outcome<T>> {
    const tracker = endpoint.tracker;
    // Synchronously after choosing, before any await: concurrent callers must see the trial taken.
    const trial = tracker.begin(this.now());
    const timeoutMs = opts.timeoutMs ?? this.timeoutMs;
    const link = follow([signal]);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      link.abort(new Error('timeout'));
    }, timeoutMs);
    const id = ++this.nextId;
    const started = performance.now();
    let failure: RpcFailure | undefined;
    let data: unknown;
    let value: unknown;
    try {
      try {
        const res = await fetch(job.url(endpoint), {
          method: 'POST',
          headers: endpoint.headers,
          body: job.body(id),
          // Credentials must not follow a redirect to another host; a redirect is a configuration error.
          redirect: 'manual',
          signal: link.signal,
        });
        const text = await res.text();
        const read = job.interpret(res.status, text, id);
        if (read.ok) value = read.value;
        else ({ failure, data } = read);
      } catch (err) {
        if (signal.aborted && !timedOut) {
          tracker.cancel(trial);
          throw this.abortError(job.what, opts.signal);
        }
        failure = timedOut ? { kind: 'timeout', timeoutMs } : { kind: 'network', message: scrub(clip(networkMessage(err)), endpoint) };
      }
    } finally {
      clearTimeout(timer);
      link.dispose();
    }
    const latencyMs = Math.round(performance.now() - started);

    if (!failure && opts.validate) {
      let verdict: boolean | string | void;
      try {
        verdict = opts.validate(value as T);
      } catch (err) {
        tracker.cancel(trial);
        throw err;
      }
      if (verdict === false || typeof verdict === 'string')
        failure = { kind: 'invalid', reason: clip(typeof verdict === 'string' ? verdict : 'rejected by validate') };
    }

    if (!failure) {
      this.record(endpoint, () => tracker.succeed(this.now(), latencyMs, trial));
      return { ok: true, value: value as T, latencyMs };
    }
    const cls = classifyFailure(failure);
    const description = scrub(describeFailure(failure), endpoint);
    // A definitive answer about the request proves the endpoint works.
    if (cls === 'request') this.record(endpoint, () => tracker.succeed(this.now(), latencyMs, trial));
    else this.record(endpoint, () => tracker.fail(this.now(), latencyMs, description, trial));
    const transient = cls === 'transient';
    const error =
      failure.kind === 'rpc'
        ? new RpcError(`${job.what}: ${description}`, transient, { code: failure.code, message: scrub(failure.message, endpoint), data }, endpoint.label)
        : new ChainError(`${job.what} via ${endpoint.label}: ${description}`, transient, failure);
    return { ok: false, cls, error, latencyMs };
  }

  private record(endpoint: Endpoint, update: () => void): void {
    const from = endpoint.tracker.state();
    update();
    const to = endpoint.tracker.state();
    if (from === to || !this.opts.onHealthChange) return;
    try {
      this.opts.onHealthChange({ index: endpoint.index, endpoint: endpoint.label, from, to, health: endpoint.tracker.snapshot() });
    } catch {
      // See RpcPoolOptions.onHealthChange.
    }
  }

  /** Turns an abort of the queue or a backoff wait into the caller-facing error. */
  private async guard<V>(what: string, callerSignal: AbortSignal | undefined, promise: Promise<V>): Promise<V> {
    try {
      return await promise;
    } catch (err) {
      if (err instanceof ChainError) throw err;
      throw this.abortError(what, callerSignal);
    }
  }

  private abortError(what: string, callerSignal: AbortSignal | undefined): ChainError {
    if (this.closing.signal.aborted) return this.closing.signal.reason as ChainError;
    return new ChainError(`${what}: aborted by the caller`, false, callerSignal?.reason);
  }
}

/**
 * The connection service: one pooled transport per network over its configured endpoints. Called
 * once per network by the process that owns the watcher or signer; every call creates an
 * independent pool (health is not shared), so create it once and reuse it.
 */
export function createRpcPool(endpoints: RpcEndpointConfig[], opts: RpcPoolOptions = {}): RpcPool {
  if (endpoints.length === 0) throw new Error('no RPC endpoint configured');
  return new Pool(endpoints, opts);
}
