import type { ApolloServerPlugin } from '@apollo/server';
import type { GatewayConfig } from '@cpg/core/config';
import { AppError, type Identity, checkOperationInputs } from '@cpg/core/graphql';
import { type QueryLimits, costError, operationCost } from './limits';
import { RateLimiter } from './rate-limit';
import type { GatewayContext } from './signed-data-source';

/**
 * The gateway's limits in one place, shared by the HTTP endpoint and graphql-ws: query shape and
 * cost, and three token buckets per caller. A caller is an API key, the operator, or (anonymous)
 * a client IP; failed authentications are counted per client IP, whoever they claim to be.
 * The buckets are this process's; replicas share the limits by each enforcing its share.
 */
export class Guard {
  readonly limits: QueryLimits;
  /** One unit per request or subscribe: bounds the fixed overhead of tiny requests. */
  readonly requests: RateLimiter;
  /** Each operation's computed cost: bounds the work a caller asks for. */
  readonly cost: RateLimiter;
  readonly authFailures: RateLimiter;

  constructor(config: GatewayConfig) {
    const windowMs = config.RATE_LIMIT_WINDOW_SECONDS * 1000;
    this.limits = {
      maxDepth: config.MAX_QUERY_DEPTH,
      maxCost: config.MAX_QUERY_COST,
      maxAliases: config.MAX_QUERY_ALIASES,
      maxDirectives: config.MAX_QUERY_DIRECTIVES,
    };
    this.requests = new RateLimiter(config.RATE_LIMIT_REQUESTS, windowMs, config.RATE_LIMIT_MAX_KEYS);
    this.cost = new RateLimiter(config.RATE_LIMIT_COST, windowMs, config.RATE_LIMIT_MAX_KEYS);
    this.authFailures = new RateLimiter(config.AUTH_FAILURE_LIMIT, windowMs, config.RATE_LIMIT_MAX_KEYS);
  }

  /**
   * Enforces this replica's share of every limit: 1/`replicas` of it (replica-share.ts counts the
   * live replicas; 1 means alone, or the local fallback when NATS KV cannot be reached).
   */
  shareAmong(replicas: number): void {
    for (const l of [this.requests, this.cost, this.authFailures]) l.shareAmong(replicas);
  }

  /** The settings replicas must agree on to share one budget (replica-share.ts groups by them). */
  static sharedLimits(config: GatewayConfig): Record<string, number> {
    return {
      requests: config.RATE_LIMIT_REQUESTS,
      cost: config.RATE_LIMIT_COST,
      authFailures: config.AUTH_FAILURE_LIMIT,
      windowSeconds: config.RATE_LIMIT_WINDOW_SECONDS,
    };
  }

  static bucket(identity: Identity, ipKey: string): string {
    return identity.kind === 'merchant' ? `key:${identity.keyId}` : identity.kind === 'operator' ? 'operator' : ipKey;
  }

  /** Throws RATE_LIMITED when this client IP has failed to authenticate too often lately. */
  checkAuthFailures(ipKey: string): void {
    const wait = this.authFailures.wait(ipKey);
    if (wait > 0) throw rateLimited(wait, 'AUTH_FAILURES', 'too many failed authentications from this address');
  }

  /** Counts a failed authentication against the client IP. */
  authFailed(ipKey: string): void {
    this.authFailures.take(ipKey, 1);
  }

  /** One request (or subscribe) for this caller; throws RATE_LIMITED when none is left. */
  chargeRequest(bucket: string): void {
    const wait = this.requests.take(bucket, 1);
    if (wait > 0) throw rateLimited(wait, 'REQUESTS');
  }

  /**
   * Refuses an operation above the cost limit, then charges its cost to the caller's bucket
   * (`bucket` undefined: checked, not charged).
   * Returns the cost.
   */
  checkCost(cost: number, bucket: string | undefined): number {
    if (cost > this.limits.maxCost) throw costError(cost, this.limits.maxCost);
    if (bucket === undefined) return cost;
    const wait = this.cost.take(bucket, Math.max(1, cost));
    if (wait > 0) throw rateLimited(wait, 'COST', `query cost budget exhausted (this query costs ${cost})`);
    return cost;
  }
}

export function rateLimited(waitMs: number, reason: string, what = 'rate limit exceeded'): AppError {
  const retryAfterSeconds = Math.max(1, Math.ceil(waitMs / 1000));
  return new AppError('RATE_LIMITED', `${what}; retry in ${retryAfterSeconds} s`, { reason, retryAfterSeconds });
}

/** Context of an HTTP request: who is charged for it. */
export interface ChargedContext extends GatewayContext {
  rateBucket?: string;
}

/**
 * Computes each operation's cost once Apollo has parsed and validated it and knows its
 * variables, and refuses or charges it before the gateway plans or sends anything to a subgraph.
 */
export function costPlugin(guard: Guard): ApolloServerPlugin<ChargedContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ schema, document, request, operationName, contextValue, response }) {
          // Argument sizes at the edge too: a 1 MB address is refused here, before it is planned,
          // signed and sent to a subgraph (which checks again: it trusts no caller's sizes).
          checkOperationInputs(schema, document, request.variables);
          const cost = operationCost(schema, document, request.variables, operationName);
          try {
            guard.checkCost(cost, contextValue.rateBucket);
          } catch (err) {
            const retry = (err as AppError).extensions?.retryAfterSeconds;
            if (typeof retry === 'number') response.http.headers.set('retry-after', String(retry));
            throw err;
          }
          response.http.headers.set('x-query-cost', String(cost));
        },
      };
    },
  };
}
