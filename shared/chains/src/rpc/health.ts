/**
 * Health of one endpoint and its circuit breaker. No I/O and no clock of its own: the pool passes
 * `now`, so the state machine is testable without waiting.
 *
 *   closed --N consecutive failures--> open --cool-down elapsed--> half-open (one trial request)
 *   half-open --trial succeeds--> closed;  half-open --trial fails--> open (new cool-down)
 */

export type EndpointState = 'healthy' | 'degraded' | 'down';

export interface BreakerPolicy {
  /** Consecutive failed requests that open the circuit. */
  failureThreshold: number;
  /** How long an open circuit keeps the endpoint out of rotation before one trial request. */
  coolDownMs: number;
  /** A successful answer slower than this marks the endpoint degraded. */
  slowMs: number;
}

/** A point-in-time copy of one endpoint's health; safe to log (the label carries no credentials). */
export interface EndpointHealth {
  index: number;
  /** Redacted URL. */
  endpoint: string;
  state: EndpointState;
  consecutiveFailures: number;
  lastError: string | null;
  lastLatencyMs: number | null;
  /** Epoch milliseconds. */
  lastSuccessAt: number | null;
  lastFailureAt: number | null;
  /** Set while the circuit is open or half-open: when (or since when) a trial request is allowed. */
  circuitOpenUntil: number | null;
  inFlight: number;
  requests: number;
  failures: number;
}

/** Whether a request may go to the endpoint now, and whether it would be the circuit's trial. */
export type Admission = 'closed' | 'trial' | 'refused';

export class EndpointHealthTracker {
  private consecutiveFailures = 0;
  private lastError: string | null = null;
  private lastLatencyMs: number | null = null;
  private lastSuccessAt: number | null = null;
  private lastFailureAt: number | null = null;
  private lastAttemptAt: number | null = null;
  private openUntil: number | null = null;
  private trialInFlight = false;
  private inFlight = 0;
  private requests = 0;
  private failures = 0;

  constructor(
    readonly index: number,
    readonly label: string,
    private readonly policy: BreakerPolicy,
  ) {}

  /** Called by every ordering decision and snapshot; read-only. */
  state(): EndpointState {
    if (this.openUntil !== null) return 'down';
    if (this.consecutiveFailures > 0 || (this.lastLatencyMs !== null && this.lastLatencyMs > this.policy.slowMs)) return 'degraded';
    return 'healthy';
  }

  /** Called when choosing endpoints for a request; read-only. */
  admission(now: number): Admission {
    if (this.openUntil === null) return 'closed';
    return now >= this.openUntil && !this.trialInFlight ? 'trial' : 'refused';
  }

  /**
   * Preference among admitted endpoints, lower first (ties keep configuration order). Called when
   * choosing endpoints; read-only. A due trial goes first: placed after healthy endpoints it would
   * never be tried and the endpoint could never come back. A degraded endpoint regains its place
   * once it has rested for a cool-down, so one slow answer or one error does not demote the
   * preferred node for good.
   */
  rank(now: number): number {
    const admission = this.admission(now);
    if (admission === 'refused') return Number.POSITIVE_INFINITY;
    if (admission === 'trial') return 0;
    if (this.state() === 'healthy') return 1;
    const rested = this.lastAttemptAt === null || now - this.lastAttemptAt >= this.policy.coolDownMs;
    return rested ? 1 : 2;
  }

  /**
   * Called synchronously right after the endpoint is chosen, so that concurrent choosers see the
   * trial as taken. Returns whether this request is the circuit's trial. Not idempotent.
   */
  begin(now: number): boolean {
    const trial = this.admission(now) === 'trial';
    if (trial) this.trialInFlight = true;
    this.inFlight++;
    this.requests++;
    this.lastAttemptAt = now;
    return trial;
  }

  /**
   * Called once per request the endpoint answered properly (a definitive JSON-RPC error included:
   * the node works). Closes the circuit. Not idempotent (pairs with one `begin`).
   */
  succeed(now: number, latencyMs: number, trial: boolean): void {
    this.finish(trial);
    this.consecutiveFailures = 0;
    this.openUntil = null;
    this.lastLatencyMs = latencyMs;
    this.lastSuccessAt = now;
  }

  /**
   * Called once per request that failed because of the endpoint (transient or lying). Opens the
   * circuit at the threshold, and again at once when a trial fails. Not idempotent.
   */
  fail(now: number, latencyMs: number, error: string, trial: boolean): void {
    this.finish(trial);
    this.consecutiveFailures++;
    this.failures++;
    this.lastError = error;
    this.lastLatencyMs = latencyMs;
    this.lastFailureAt = now;
    if (trial || this.consecutiveFailures >= this.policy.failureThreshold) this.openUntil = now + this.policy.coolDownMs;
  }

  /**
   * Called when a request ended without a verdict on the endpoint (the caller aborted, the pool
   * closed): frees a trial for someone else. Not idempotent.
   */
  cancel(trial: boolean): void {
    this.finish(trial);
  }

  /** Called by `health()`; read-only. */
  snapshot(): EndpointHealth {
    return {
      index: this.index,
      endpoint: this.label,
      state: this.state(),
      consecutiveFailures: this.consecutiveFailures,
      lastError: this.lastError,
      lastLatencyMs: this.lastLatencyMs,
      lastSuccessAt: this.lastSuccessAt,
      lastFailureAt: this.lastFailureAt,
      circuitOpenUntil: this.openUntil,
      inFlight: this.inFlight,
      requests: this.requests,
      failures: this.failures,
    };
  }

  private finish(trial: boolean): void {
    if (trial) this.trialInFlight = false;
    this.inFlight = Math.max(0, this.inFlight - 1);
  }
}
