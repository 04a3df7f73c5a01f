import { ChainError, type RpcEndpointConfig } from '../types';
import { follow, sleep } from './abort';
import { DEFAULT_BACKOFF, backoffDelay, type BackoffPolicy } from './backoff';
import type { FailureClass } from './classify';
import { prepareEndpoint } from './endpoint';
import { RpcUnavailableError } from './errors';
import { type Endpoint, Exchange, type Outcome } from './exchange';
import { EndpointHealthTracker } from './health';
import { Limiter } from './limiter';
import type { PoolHealth, RpcAnswer, RpcCallOptions, RpcPool, RpcPoolOptions } from './pool-api';
import { type Job, jsonRpcJob, postJob } from './request';

// The pool core: admission (limiter), failover with backoff for single calls, fan-out for tip
// queries. One HTTP exchange and its health bookkeeping live in ./exchange, request encoding in
// ./request. Re-exported for callers that imported them from here.
export { RpcError, RpcUnavailableError } from './errors';
export type { HealthChange, PoolHealth, RpcAnswer, RpcCallOptions, RpcPool, RpcPoolOptions } from './pool-api';

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
  private readonly exchange: Exchange;

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
    this.exchange = new Exchange({
      timeoutMs: this.timeoutMs,
      now: this.now,
      opts,
      abortError: (what, callerSignal) => this.abortError(what, callerSignal),
    });
  }

  async call<T = unknown>(method: string, params: unknown[] = [], opts: RpcCallOptions<T> = {}): Promise<T> {
    return this.run(jsonRpcJob(this.prefix, method, params), opts);
  }

  async post<T = unknown>(path: string, body: unknown, opts: RpcCallOptions<T> = {}): Promise<T> {
    return this.run(postJob(this.prefix, path, body), opts);
  }

  async callAll<T = unknown>(method: string, params: unknown[] = [], opts: RpcCallOptions<T> = {}): Promise<RpcAnswer<T>[]> {
    return this.fanOut(jsonRpcJob(this.prefix, method, params), opts);
  }

  async postAll<T = unknown>(path: string, body: unknown, opts: RpcCallOptions<T> = {}): Promise<RpcAnswer<T>[]> {
    return this.fanOut(postJob(this.prefix, path, body), opts);
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
        outcome = await this.exchange.attempt(endpoint, job, opts, signal);
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
          const outcome = await this.exchange.attempt<T>(endpoint, job, opts, signal);
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
