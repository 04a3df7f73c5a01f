import type { ApolloServer } from '@apollo/server';
import { AppError, type Identity } from '@cpg/core/graphql';
import type { FormattedExecutionResult, GraphQLResolveInfo } from 'graphql';
import type { Authenticator } from './auth';
import type { ForwardTarget } from './forwarded-query';
import type { Guard } from './guard';
import type { GatewayContext } from './signed-data-source';
import { HIDDEN, type LiveEvent, type OperationContext, asGraphQLError, codeOf } from './subscription-context';

/** At most `max` tasks running; the rest wait in arrival order. */
class Limiter {
  private running = 0;
  private readonly queue: (() => void)[] = [];
  constructor(private readonly max: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.max) await new Promise<void>((resolve) => this.queue.push(resolve));
    else this.running++;
    try {
      return await task();
    } finally {
      // The slot passes straight to the next waiter, so `running` stays put.
      const next = this.queue.shift();
      if (next) next();
      else this.running--;
    }
  }
}

/** A re-read that failed as a whole (a subgraph down or reset) is tried again this often, backing off. */
const RETRIES = 5;
const RETRY_FIRST_MS = 500;
/** Failures a later read may not have: a subgraph down, reset or erring. Anything else (FORBIDDEN, ...) reads the same again. */
const TRANSIENT = new Set([undefined, 'UNAVAILABLE', 'INTERNAL_SERVER_ERROR']);

export interface RereadOptions {
  apollo: ApolloServer<GatewayContext>;
  auth: Authenticator;
  guard: Guard;
  /** Event re-reads in flight at once across all subscribers of this process. */
  maxConcurrentReads?: number;
}

/**
 * Reads through the supergraph for graphql-ws clients: the current state of an entity when an
 * event about it arrives, with the subscriber's own selection and (re-checked) identity. Events
 * published while this replica was disconnected are not replayed: each read returns the current
 * state, so the next event catches the subscriber up.
 */
export class Rereads {
  // One event to thousands of subscribers (or a burst of subscribes, each checked with a read)
  // would otherwise open as many subgraph requests at once, overflowing the subgraphs' accept
  // queues (connection resets); queued reads finish sooner.
  private readonly limiter: Limiter;

  // One event fans out to every subscriber of the subject at once; those holding the same key
  // share one check instead of each asking the merchant subgraph when the key cache is cold.
  private readonly identifying = new Map<string, Promise<Identity>>();

  // Subscribers with the same key, operation and variables get the same answer for one message:
  // they share one read. Only reads started for that very message are shared, so nobody gets a
  // state read before the event they are being told about.
  private readonly sharedReads = new Map<string, Promise<FormattedExecutionResult>>();

  constructor(private readonly opts: RereadOptions) {
    this.limiter = new Limiter(opts.maxConcurrentReads ?? 64);
  }

  /** Runs one operation on the HTTP path's executor as `ctx.identity`; not rate-limited here. */
  async run(ctx: GatewayContext, query: string, variables: Record<string, unknown>, operationName?: string): Promise<FormattedExecutionResult> {
    const res = await this.opts.apollo.executeOperation(
      { query, variables, operationName },
      { contextValue: { identity: ctx.identity, requestId: ctx.requestId } },
    );
    if (res.body.kind !== 'single') throw new AppError('UNAVAILABLE', 'incremental delivery is not served over graphql-ws');
    return res.body.singleResult;
  }

  /**
   * Called once per subscribe, after listening has begun: reads the entity once (`{ __typename }`).
   * Null, or an answer saying it is not the caller's, is NOT_FOUND.
   */
  async ensureVisible(ctx: GatewayContext, target: ForwardTarget, key: string, what: string): Promise<void> {
    const query = `query($k: ${target.argType}) { e: ${target.field}(${target.arg}: $k) { __typename } }`;
    const res = await this.limiter.run(() => this.run(ctx, query, { k: key }));
    const hidden = res.errors?.some((e) => HIDDEN.has(codeOf(e) ?? ''));
    if (hidden || (res.data && res.data.e == null && !res.errors?.length)) throw new AppError('NOT_FOUND', `${what} not found`);
    if (res.errors?.length) throw asGraphQLError(res.errors[0]!);
  }

  /** Called once per subscribe by checkout token: the id of the payment the token opens. */
  async checkoutPaymentId(ctx: GatewayContext, token: string): Promise<string> {
    const found = await this.run(ctx, 'query($t: String!) { checkout(token: $t) { id } }', { t: token });
    const paymentId = (found.data?.checkout as { id?: unknown } | null | undefined)?.id;
    if (found.errors?.length && !found.errors.every((e) => HIDDEN.has(codeOf(e) ?? ''))) throw asGraphQLError(found.errors[0]!);
    if (typeof paymentId !== 'string') throw new AppError('NOT_FOUND', 'payment not found');
    return paymentId;
  }

  /**
   * Runs once per event for the subscription field: re-reads the entity as the client asked and
   * returns the answer's data, leaving the errors of its inner fields in `ctx.eventErrors`. A
   * revoked key, an empty budget or a vanished entity ends the stream; a failed read does not.
   */
  async readEvent(live: LiveEvent, ctx: OperationContext, info: GraphQLResolveInfo): Promise<Record<string, unknown>> {
    let identity: Identity;
    try {
      identity = await this.currentIdentity(ctx);
    } catch (err) {
      live.stream.end();
      throw err;
    }
    const { probe } = live.forward;
    // Every event is a read made for this subscriber: charged like the same query over HTTP, so
    // many subscriptions cannot turn a stream of events into free work. An empty budget ends the
    // subscription with RATE_LIMITED; the client may subscribe again later.
    if (ctx.cost !== undefined) {
      try {
        this.opts.guard.checkCost(ctx.cost, ctx.rateBucket);
      } catch (err) {
        live.stream.end();
        throw err;
      }
    }
    const res = await this.readFor(live, ctx, identity);
    const errors = res.errors ?? [];
    const probeError = errors.find((e) => e.path?.[0] === probe);
    const data = res.data ?? undefined;
    // Without data the read failed as a whole (e.g. a subgraph is down): report it, keep listening,
    // and read again later, so a subscriber is not left on a state older than the last event.
    if (!data) {
      const error = errors[0] ?? { message: 'read failed' };
      if (TRANSIENT.has(codeOf(error))) this.retryLater(live);
      throw asGraphQLError(error);
    }
    if (data[probe] == null) {
      // Only "null and nothing else wrong" (or an answer saying it is hidden) means gone. A failed
      // fetch can null the entity with an error that carries no path (e.g. a subgraph connection
      // reset under load): that is a transient failure, reported while the stream keeps going.
      const cause = probeError ?? errors.find((e) => !e.path?.length);
      if (cause && !HIDDEN.has(codeOf(cause) ?? '')) {
        if (TRANSIENT.has(codeOf(cause))) this.retryLater(live);
        throw asGraphQLError(cause);
      }
      live.stream.end();
      throw new AppError('NOT_FOUND', `${info.fieldName === 'withdrawalUpdated' ? 'withdrawal' : 'payment'} not found`);
    }
    ctx.eventErrors = errors.filter((e) => e.path?.length && e.path[0] !== probe);
    return data;
  }

  /** Queues the same event again after a backoff (at most RETRIES times); nothing once the stream ends. */
  private retryLater(live: LiveEvent): void {
    const attempt = (live.attempt ?? 0) + 1;
    if (attempt > RETRIES || live.stream.isClosed) return;
    // A retry reads on its own: the shared read of the failed message is gone by now.
    const timer = setTimeout(() => live.stream.push({ ...live, attempt, messageId: undefined }), RETRY_FIRST_MS * 2 ** (attempt - 1));
    timer.unref();
    live.stream.onClose(() => clearTimeout(timer));
  }

  /** Re-authenticates on every read so a revoked key stops receiving within the cache window. */
  private async currentIdentity(ctx: OperationContext): Promise<Identity> {
    const key = ctx.authorization;
    if (key === undefined) return this.opts.auth.identify(key);
    let pending = this.identifying.get(key);
    if (!pending) {
      pending = this.opts.auth.identify(key).finally(() => this.identifying.delete(key));
      this.identifying.set(key, pending);
    }
    return pending;
  }

  private readFor(live: LiveEvent, ctx: OperationContext, identity: Identity): Promise<FormattedExecutionResult> {
    const variables = live.forward.variables(live.key);
    const read = () => this.limiter.run(() => this.run({ identity, requestId: ctx.requestId }, live.forward.query, variables));
    if (live.messageId === undefined || ctx.authorization === undefined) return read();
    const key = JSON.stringify([live.messageId, ctx.authorization, live.forward.query, variables]);
    let pending = this.sharedReads.get(key);
    if (!pending) {
      pending = read().finally(() => this.sharedReads.delete(key));
      this.sharedReads.set(key, pending);
    }
    return pending;
  }
}
