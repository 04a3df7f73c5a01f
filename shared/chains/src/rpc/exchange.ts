import { ChainError } from '../types';
import { clip, networkMessage, type Job } from './request';
import { classifyFailure, describeFailure, type FailureClass, type RpcFailure } from './classify';
import { scrub, type PreparedEndpoint } from './endpoint';
import { RpcError } from './errors';
import type { EndpointHealthTracker } from './health';
import type { RpcCallOptions, RpcPoolOptions } from './pool-api';
import { follow } from './abort';

export interface Endpoint extends PreparedEndpoint {
  tracker: EndpointHealthTracker;
}

export type Outcome<T> = { ok: true; value: T; latencyMs: number } | { ok: false; cls: FailureClass; error: ChainError; latencyMs: number };

export interface ExchangeSettings {
  /** Per-request deadline unless the call overrides it. */
  timeoutMs: number;
  now: () => number;
  /** The pool's options, read at each health change (see RpcPoolOptions.onHealthChange). */
  opts: Pick<RpcPoolOptions, 'onHealthChange'>;
  /** The error an aborted request ends with: the pool's closing error, or the caller's abort. */
  abortError: (what: string, callerSignal: AbortSignal | undefined) => ChainError;
}

/**
 * Single HTTP exchanges with one endpoint each, for the pool's failover and fan-out: sends the
 * request under its deadline, reads and validates the answer, classifies a failure and records the
 * endpoint's health. Never retries; that is the pool's decision.
 */
export class Exchange {
  private nextId = 0;

  constructor(private readonly settings: ExchangeSettings) {}

  /** One HTTP exchange with one endpoint; records its health and never retries. */
  async attempt<T>(endpoint: Endpoint, job: Job, opts: RpcCallOptions<T>, signal: AbortSignal): Promise<Outcome<T>> {
    const tracker = endpoint.tracker;
    // Synchronously after choosing, before any await: concurrent callers must see the trial taken.
    const trial = tracker.begin(this.settings.now());
    const timeoutMs = opts.timeoutMs ?? this.settings.timeoutMs;
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
          throw this.settings.abortError(job.what, opts.signal);
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
      this.record(endpoint, () => tracker.succeed(this.settings.now(), latencyMs, trial));
      return { ok: true, value: value as T, latencyMs };
    }
    const cls = classifyFailure(failure);
    const description = scrub(describeFailure(failure), endpoint);
    // A definitive answer about the request proves the endpoint works.
    if (cls === 'request') this.record(endpoint, () => tracker.succeed(this.settings.now(), latencyMs, trial));
    else this.record(endpoint, () => tracker.fail(this.settings.now(), latencyMs, description, trial));
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
    const { opts } = this.settings;
    if (from === to || !opts.onHealthChange) return;
    try {
      opts.onHealthChange({ index: endpoint.index, endpoint: endpoint.label, from, to, health: endpoint.tracker.snapshot() });
    } catch {
      // See RpcPoolOptions.onHealthChange.
    }
  }
}
