import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import type http from 'node:http';
import type { ApolloServer } from '@apollo/server';
import { type Bus, envelopeSchema, eventSchemas, eventSubject } from '@cpg/core/bus';
import { AppError, type Identity, formatAppError, requireMerchant, checkOperationInputs } from '@cpg/core/graphql';
import type { Logger } from '@cpg/core/logger';
import {
  type ExecutionArgs,
  type ExecutionResult,
  type FieldNode,
  type GraphQLFieldResolver,
  type GraphQLFormattedError,
  GraphQLError,
  type GraphQLResolveInfo,
  type GraphQLSchema,
  type OperationDefinitionNode,
  buildSchema,
  getOperationAST,
  getVariableValues,
  parse,
  printSchema,
  specifiedRules,
  subscribe,
  validate,
} from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { Authenticator } from './auth';
import { EventStream, SharedFeeds } from './event-stream';
import { type ForwardTarget, type ForwardedQuery, buildForwardedQuery } from './forwarded-query';
import { clientIp, ipBucket } from './client-ip';
import { Guard } from './guard';
import { hideSuggestions, operationCost, shapeRules } from './limits';
import type { GatewayContext } from './signed-data-source';

export interface SubscriptionServerOptions {
  server: http.Server;
  path: string;
  apollo: ApolloServer<GatewayContext>;
  /** The API schema the HTTP endpoint serves (undefined until the gateway has loaded). */
  schema: () => GraphQLSchema | undefined;
  auth: Authenticator;
  guard: Guard;
  bus: Bus;
  log: Logger;
  /** Drop graphql-js's "Did you mean" hints from errors (production). */
  hideSuggestions?: boolean;
  /** Largest message (bytes) a client may send; a bigger one closes the socket with 1009. */
  maxMessageBytes?: number;
  /** Operations one socket may hold open at once; a client needs a handful, not hundreds. */
  maxPerConnection?: number;
  /** Sockets one client IP (IPv6: one /64) may hold open at once. */
  maxConnectionsPerIp?: number;
  /** Lexical tokens per operation document, as over HTTP. */
  maxTokens?: number;
  /** Event re-reads in flight at once across all subscribers of this process. */
  maxConcurrentReads?: number;
}

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

export interface SubscriptionServer {
  /**
   * Subscribers currently listening on a NATS subject (tests check cleanup with it). Since
   * subscribers of one subject share a NATS subscription, this counts their shares.
   */
  activeNatsSubscriptions(): number;
  /** Core NATS subscriptions actually open: one per subject with at least one subscriber. */
  natsSubscriptions(): number;
  dispose(): Promise<void>;
}

interface OperationContext extends GatewayContext {
  authorization: string | undefined;
  query: string;
  /** Who is charged for this operation, and what each of its reads costs (subscriptions: every event). */
  rateBucket?: string;
  cost?: number;
  /** Errors of the event being served (events are served one at a time per operation). */
  eventErrors?: readonly GraphQLFormattedError[];
}

type ConnectionParams = Record<string, unknown> | undefined;

/** One event for one subscriber: what changed, and how to re-read it as the subscriber asked. */
interface LiveEvent {
  event: string;
  key: string;
  forward: ForwardedQuery;
  stream: EventStream<LiveEvent>;
  /** The message's envelope id, when it has one: subscribers reading it alike share one read. */
  messageId?: string;
}

const EVENT = Symbol('event');
const DATA = Symbol('data');

/** Codes that, on a re-read, mean "not yours or not there": the caller learns only NOT_FOUND. */
const HIDDEN = new Set(['NOT_FOUND', 'FORBIDDEN']);
/**
 * Close codes at connect: 4401 is fatal for graphql-ws clients (a bad key will not get better by
 * retrying); 1013 ("try again later") lets them retry when keys cannot be checked right now.
 */
const CLOSE_UNAUTHORIZED = 4401;
const CLOSE_TRY_AGAIN = 1013;
const CLOSE_RATE_LIMITED = 4429;

const sha256hex = (s: string) => createHash('sha256').update(s).digest('hex');

function authorizationOf(params: ConnectionParams): string | undefined {
  const v = params?.authorization ?? params?.Authorization;
  if (v === undefined || v === null || v === '') return undefined;
  // A non-string would otherwise read as "anonymous" and hide the client's mistake.
  return typeof v === 'string' ? v : 'invalid';
}

function asGraphQLError(e: GraphQLFormattedError): GraphQLError {
  return new GraphQLError(e.message, { extensions: e.extensions });
}

function codeOf(e: { extensions?: Record<string, unknown> }): string | undefined {
  return typeof e.extensions?.code === 'string' ? e.extensions.code : undefined;
}

/**
 * graphql-ws on the gateway's own `/graphql`. A subscription field maps to a core NATS subject;
 * each event re-reads the entity through the federated executor with the client's own selection
 * and identity, so any supergraph field can be selected and any replica can serve any subscriber
 * (core subscribers of a subject also get what JetStream stores under it; no consumers needed).
 *
 * Served fields:
 * - `paymentUpdated(id)`: merchant keys with READ (and the operator); `payment.updated.<id>`; read via `payment(id:)`.
 * - `paymentUpdated(checkoutToken)`: anyone holding the token; the payment id is found with
 *   `checkout(token:)`, and each event's checkoutTokenHash must match the token; read via
 *   `checkout(token:)` so such callers never reach merchant-only fields.
 * - `withdrawalUpdated(id)`: as `paymentUpdated(id)`; subject `withdrawal.updated.<id>`. No such
 *   event type is published yet: any message there triggers a re-read via `withdrawal(id:)`.
 *
 * Subscribers of one subject share one core NATS subscription per process (SharedFeeds): each
 * message is decoded once and handed to every subscriber, whose own filter and re-read follow.
 *
 * Events published while this replica is disconnected from NATS are not replayed: each re-read
 * returns the current state, so the next event catches the subscriber up.
 */
export function serveSubscriptions(opts: SubscriptionServerOptions): SubscriptionServer {
  const { apollo, auth, guard, bus, log } = opts;
  const maxPerConnection = opts.maxPerConnection ?? 20;
  const maxConnectionsPerIp = opts.maxConnectionsPerIp ?? 100;
  const rules = [...specifiedRules, ...shapeRules(guard.limits)];
  const connectionsPerIp = new Map<string, number>();
  let active = 0;

  // Apollo Server wraps every field resolver of the schema it serves (for plugins), and those
  // wrappers would shadow the field resolver given to graphql's subscribe: the events are shaped
  // on a resolver-free copy of the same API schema instead.
  let copied: { from: GraphQLSchema; schema: GraphQLSchema } | undefined;
  const localSchema = (): GraphQLSchema | undefined => {
    const api = opts.schema();
    if (!api) return undefined;
    if (copied?.from !== api) copied = { from: api, schema: buildSchema(printSchema(api)) };
    return copied.schema;
  };

  const format = (e: GraphQLError): GraphQLFormattedError => {
    const out = formatAppError(e.toJSON(), (message) => log.error({ err: message }, 'internal error in a subscription')) as GraphQLFormattedError;
    const { http: _http, ...extensions } = (out.extensions ?? {}) as Record<string, unknown>;
    return { ...out, extensions, message: opts.hideSuggestions ? hideSuggestions(out.message) : out.message };
  };

  async function run(ctx: GatewayContext, query: string, variables: Record<string, unknown>, operationName?: string) {
    const res = await apollo.executeOperation({ query, variables, operationName }, { contextValue: { identity: ctx.identity, requestId: ctx.requestId } });
    if (res.body.kind !== 'single') throw new AppError('UNAVAILABLE', 'incremental delivery is not served over graphql-ws');
    return res.body.singleResult;
  }

  // One event to thousands of subscribers (or a burst of subscribes, each checked with a read)
  // would otherwise open as many subgraph requests at once, overflowing the subgraphs' accept
  // queues (connection resets); queued reads finish sooner.
  const rereads = new Limiter(opts.maxConcurrentReads ?? 64);

  // One event fans out to every subscriber of the subject at once; those holding the same key
  // share one check instead of each asking the merchant subgraph when the key cache is cold.
  const identifying = new Map<string, Promise<Identity>>();

  // Subscribers with the same key, operation and variables get the same answer for one message:
  // they share one read. Only reads started for that very message are shared, so nobody gets a
  // state read before the event they are being told about.
  const sharedReads = new Map<string, ReturnType<typeof run>>();

  function readFor(live: LiveEvent, ctx: OperationContext, identity: Identity): ReturnType<typeof run> {
    const variables = live.forward.variables(live.key);
    const read = () => rereads.run(() => run({ identity, requestId: ctx.requestId }, live.forward.query, variables));
    if (live.messageId === undefined || ctx.authorization === undefined) return read();
    const key = JSON.stringify([live.messageId, ctx.authorization, live.forward.query, variables]);
    let pending = sharedReads.get(key);
    if (!pending) {
      pending = read().finally(() => sharedReads.delete(key));
      sharedReads.set(key, pending);
    }
    return pending;
  }

  /** Re-authenticates on every read so a revoked key stops receiving within the cache window. */
  async function currentIdentity(ctx: OperationContext): Promise<Identity> {
    const key = ctx.authorization;
    if (key === undefined) return auth.identify(key);
    let pending = identifying.get(key);
    if (!pending) {
      pending = auth.identify(key).finally(() => identifying.delete(key));
      identifying.set(key, pending);
    }
    return pending;
  }

  // Decoded once per message, then handed to every subscriber of the subject.
  const feeds = new SharedFeeds<unknown>((subject, deliver, fail) => {
    const sub = bus.nc.subscribe(bus.namespaced(subject), {
      callback: (err, msg) => {
        if (err) {
          fail(err);
          return;
        }
        let raw: unknown;
        try {
          raw = msg.json();
        } catch {
          log.warn({ subject: msg.subject }, 'ignoring an undecodable event');
          return;
        }
        deliver(raw);
      },
    });
    return { close: () => sub.unsubscribe() };
  });

  function listen(subject: string, stream: EventStream<LiveEvent>, accept: (raw: unknown) => string | undefined, make: (event: string) => LiveEvent) {
    const leave = feeds.listen(
      subject,
      (raw) => {
        const event = accept(raw);
        if (event === undefined) return;
        const id = (raw as { id?: unknown } | null)?.id;
        stream.push({ ...make(event), messageId: typeof id === 'string' ? id : undefined });
      },
      () => stream.end(new AppError('UNAVAILABLE', 'event feed interrupted; subscribe again')),
    );
    active++;
    stream.onClose(() => {
      active--;
      leave();
    });
  }

  function subjectFor(type: string, key: string): string {
    try {
      return eventSubject(type, key);
    } catch {
      throw new AppError('BAD_USER_INPUT', `"${key}" is not a valid id`);
    }
  }

  /** Reads the entity once (`{ __typename }`): null, or an answer saying it is not the caller's, is NOT_FOUND. */
  async function ensureVisible(ctx: GatewayContext, target: ForwardTarget, key: string, what: string): Promise<void> {
    const res = await rereads.run(() => run(ctx, `query($k: ${target.argType}) { e: ${target.field}(${target.arg}: $k) { __typename } }`, { k: key }));
    const hidden = res.errors?.some((e) => HIDDEN.has(codeOf(e) ?? ''));
    if (hidden || (res.data && res.data.e == null && !res.errors?.length)) throw new AppError('NOT_FOUND', `${what} not found`);
    if (res.errors?.length) throw asGraphQLError(res.errors[0]!);
  }

  function forwardFor(info: GraphQLResolveInfo, target: ForwardTarget, via?: string): ForwardedQuery {
    return buildForwardedQuery({
      fieldNodes: info.fieldNodes as FieldNode[],
      fragments: info.fragments,
      variableDefinitions: info.operation.variableDefinitions ?? [],
      variableValues: info.variableValues,
      via,
      target,
    });
  }

  async function subscribePayment(args: { id?: string | null; checkoutToken?: string | null }, ctx: OperationContext, info: GraphQLResolveInfo) {
    const { id, checkoutToken } = args;
    if ((id == null) === (checkoutToken == null)) throw new AppError('BAD_USER_INPUT', 'paymentUpdated takes exactly one of id and checkoutToken');
    const stream = new EventStream<LiveEvent>();
    const parse = (raw: unknown) => {
      const env = envelopeSchema.safeParse(raw);
      if (!env.success || env.data.type !== 'payment.updated') return undefined;
      const data = eventSchemas['payment.updated'].safeParse(env.data.data);
      return data.success ? data.data : undefined;
    };
    try {
      if (id != null) {
        if (ctx.identity.kind === 'anonymous') {
          throw new AppError(
            'UNAUTHENTICATED',
            'paymentUpdated(id) needs an API key in connectionParams.authorization; checkout pages subscribe by checkoutToken',
          );
        }
        // The operator reads any payment; whether it may is the payment subgraph's call.
        if (ctx.identity.kind !== 'operator') requireMerchant(ctx.identity, 'READ');
        const target = { field: 'payment', arg: 'id', argType: 'ID!' };
        const forward = forwardFor(info, target, 'payment');
        // Listen before checking ownership so nothing published in between is missed.
        listen(
          subjectFor('payment.updated', id),
          stream,
          (raw) => {
            const e = parse(raw);
            return e && e.paymentId === id ? e.event : undefined;
          },
          (event) => ({ event, key: id, forward, stream }),
        );
        await ensureVisible(ctx, target, id, 'payment');
        return stream;
      }
      const token = checkoutToken!;
      const found = await run(ctx, 'query($t: String!) { checkout(token: $t) { id } }', { t: token });
      const paymentId = (found.data?.checkout as { id?: unknown } | null | undefined)?.id;
      if (found.errors?.length && !found.errors.every((e) => HIDDEN.has(codeOf(e) ?? ''))) throw asGraphQLError(found.errors[0]!);
      if (typeof paymentId !== 'string') throw new AppError('NOT_FOUND', 'payment not found');
      const tokenHash = Buffer.from(sha256hex(token));
      const forward = forwardFor(info, { field: 'checkout', arg: 'token', argType: 'String!' }, 'payment');
      listen(
        subjectFor('payment.updated', paymentId),
        stream,
        (raw) => {
          const e = parse(raw);
          if (!e || e.paymentId !== paymentId) return undefined;
          const given = Buffer.from(e.checkoutTokenHash);
          // The subject already names the payment; the hash guards against a token that was
          // reissued to another payment after the lookup.
          return given.length === tokenHash.length && timingSafeEqual(given, tokenHash) ? e.event : undefined;
        },
        (event) => ({ event, key: token, forward, stream }),
      );
      return stream;
    } catch (err) {
      stream.end();
      throw err;
    }
  }

  async function subscribeWithdrawal(args: { id: string }, ctx: OperationContext, info: GraphQLResolveInfo) {
    if (ctx.identity.kind === 'anonymous') throw new AppError('UNAUTHENTICATED', 'withdrawalUpdated needs an API key in connectionParams.authorization');
    if (ctx.identity.kind !== 'operator') requireMerchant(ctx.identity, 'READ');
    const target = { field: 'withdrawal', arg: 'id', argType: 'ID!' };
    const forward = forwardFor(info, target);
    const stream = new EventStream<LiveEvent>();
    try {
      // No withdrawal event type exists yet: any message on the subject means "re-read it", and
      // its `type`, when it has one, is the event name.
      listen(
        subjectFor('withdrawal.updated', args.id),
        stream,
        (raw) => (typeof (raw as { type?: unknown })?.type === 'string' ? (raw as { type: string }).type : 'updated'),
        (event) => ({ event, key: args.id, forward, stream }),
      );
      await ensureVisible(ctx, target, args.id, 'withdrawal');
      return stream;
    } catch (err) {
      stream.end();
      throw err;
    }
  }

  const subscribeFieldResolver: GraphQLFieldResolver<unknown, OperationContext> = (_root, args, ctx, info) => {
    switch (info.fieldName) {
      case 'paymentUpdated':
        return subscribePayment(args, ctx, info);
      case 'withdrawalUpdated':
        return subscribeWithdrawal(args as { id: string }, ctx, info);
      default:
        throw new AppError('BAD_USER_INPUT', `${info.fieldName} is not served as a subscription`);
    }
  };

  /** Runs once per event for the subscription field: re-reads the entity as the client asked. */
  async function resolveEvent(live: LiveEvent, ctx: OperationContext, info: GraphQLResolveInfo) {
    let identity: Identity;
    try {
      identity = await currentIdentity(ctx);
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
        guard.checkCost(ctx.cost, ctx.rateBucket);
      } catch (err) {
        live.stream.end();
        throw err;
      }
    }
    const res = await readFor(live, ctx, identity);
    const errors = res.errors ?? [];
    const probeError = errors.find((e) => e.path?.[0] === probe);
    const data = res.data ?? undefined;
    // Without data the read failed as a whole (e.g. a subgraph is down): report it, keep listening.
    if (!data) throw asGraphQLError(errors[0] ?? { message: 'read failed' });
    if (data[probe] == null) {
      // Only "null and nothing else wrong" (or an answer saying it is hidden) means gone. A failed
      // fetch can null the entity with an error that carries no path (e.g. a subgraph connection
      // reset under load): that is a transient failure, reported while the stream keeps going.
      const cause = probeError ?? errors.find((e) => !e.path?.length);
      if (cause && !HIDDEN.has(codeOf(cause) ?? '')) throw asGraphQLError(cause);
      live.stream.end();
      throw new AppError('NOT_FOUND', `${info.fieldName === 'withdrawalUpdated' ? 'withdrawal' : 'payment'} not found`);
    }
    ctx.eventErrors = errors.filter((e) => e.path?.length && e.path[0] !== probe);
    if (info.fieldName === 'paymentUpdated') return { [EVENT]: live.event, [DATA]: data };
    return data[info.path.key as string];
  }

  /**
   * Where the field being resolved sits in the forwarded answer: the client's path, less the
   * subscription field when the entity sits under a wrapper (PaymentUpdate.payment).
   */
  function forwardedPath(info: GraphQLResolveInfo): (string | number)[] {
    const keys: (string | number)[] = [];
    let wrapped = false;
    for (let p: GraphQLResolveInfo['path'] | undefined = info.path; p; p = p.prev) {
      keys.unshift(p.key);
      if (p.typename === 'PaymentUpdate') wrapped = true;
    }
    return wrapped ? keys.slice(1) : keys;
  }

  /** A null in the forwarded answer that an error explains gets that error, at the client's path. */
  function pick(source: unknown, ctx: OperationContext, info: GraphQLResolveInfo): unknown {
    const value = (source as Record<string, unknown> | null)?.[info.path.key as string];
    if (value == null && ctx.eventErrors?.length) {
      const at = forwardedPath(info);
      const err = ctx.eventErrors.find((e) => at.every((k, i) => e.path?.[i] === k));
      if (err) throw asGraphQLError(err);
    }
    return value;
  }

  const fieldResolver: GraphQLFieldResolver<unknown, OperationContext> = (source, _args, ctx, info) => {
    if (info.parentType === info.schema.getSubscriptionType()) return resolveEvent(source as LiveEvent, ctx, info);
    if (info.parentType.name === 'PaymentUpdate') {
      const s = source as { [EVENT]: string; [DATA]: Record<string, unknown> };
      if (info.fieldName === 'event') return s[EVENT];
      if (info.fieldName === 'payment') return pick(s[DATA], ctx, info);
    }
    // The forwarded query kept the client's aliases, so its answer is keyed by response key.
    return pick(source, ctx, info);
  };

  const ipKeyOf = (request: http.IncomingMessage) => ipBucket(clientIp(request.socket.remoteAddress, request.headers['x-forwarded-for']));

  const wss = new WebSocketServer({
    server: opts.server,
    path: opts.path,
    // ws's default is 100 MiB per message; graphql-ws messages are a query and its variables.
    maxPayload: opts.maxMessageBytes ?? 65_536,
    // Counted on the TCP socket before the handshake completes (its close event fires whether
    // the upgrade succeeds or not), so concurrent handshakes cannot all slip under the cap.
    verifyClient: (info: { req: http.IncomingMessage }, done: (ok: boolean, code?: number, message?: string) => void) => {
      const key = ipKeyOf(info.req);
      const open = connectionsPerIp.get(key) ?? 0;
      if (open >= maxConnectionsPerIp) {
        done(false, 429, `at most ${maxConnectionsPerIp} connections per client`);
        return;
      }
      connectionsPerIp.set(key, open + 1);
      info.req.socket.once('close', () => {
        const n = (connectionsPerIp.get(key) ?? 1) - 1;
        if (n <= 0) connectionsPerIp.delete(key);
        else connectionsPerIp.set(key, n);
      });
      done(true);
    },
  });
  const disposable = useServer<ConnectionParams>(
    {
      onConnect: async (ctx) => {
        const ipKey = ipKeyOf(ctx.extra.request);
        const authorization = authorizationOf(ctx.connectionParams);
        try {
          if (authorization !== undefined) guard.checkAuthFailures(ipKey);
          try {
            await auth.identify(authorization);
          } catch (err) {
            if (err instanceof AppError && err.code === 'UNAUTHENTICATED') guard.authFailed(ipKey);
            throw err;
          }
          return true;
        } catch (err) {
          const code = err instanceof AppError ? err.code : undefined;
          const message = err instanceof AppError ? err.message : 'cannot authenticate';
          // Close ourselves: graphql-ws's refusal (4403 "Forbidden") cannot say why. 4429 is
          // graphql-ws's own "too many requests" close.
          const close = code === 'UNAVAILABLE' ? CLOSE_TRY_AGAIN : code === 'RATE_LIMITED' ? CLOSE_RATE_LIMITED : CLOSE_UNAUTHORIZED;
          ctx.extra.socket.close(close, Buffer.from(message).subarray(0, 120).toString());
          return false;
        }
      },
      onSubscribe: async (ctx, _id, payload): Promise<ExecutionArgs | readonly GraphQLError[]> => {
        const authorization = authorizationOf(ctx.connectionParams);
        let identity: Identity;
        try {
          identity = await auth.identify(authorization);
        } catch (err) {
          return [err instanceof GraphQLError ? err : new AppError('UNAVAILABLE', 'cannot authenticate right now')];
        }
        const bucket = Guard.bucket(identity, ipKeyOf(ctx.extra.request));
        try {
          guard.chargeRequest(bucket);
        } catch (err) {
          return [err as GraphQLError];
        }
        // graphql-ws has registered this operation already, hence ">".
        if (Object.keys(ctx.subscriptions).length > maxPerConnection) {
          return [new AppError('RATE_LIMITED', `at most ${maxPerConnection} operations per connection`, { reason: 'TOO_MANY_SUBSCRIPTIONS' })];
        }
        const schema = localSchema();
        if (!schema) return [new AppError('UNAVAILABLE', 'the gateway is starting; retry shortly')];
        let document;
        try {
          document = parse(payload.query, { maxTokens: opts.maxTokens });
        } catch (err) {
          return [new AppError('BAD_USER_INPUT', (err as Error).message, { reason: 'GRAPHQL_PARSE_FAILED' })];
        }
        const invalid = validate(schema, document, rules);
        if (invalid.length) return invalid.map((e) => (codeOf(e) ? e : new AppError('BAD_USER_INPUT', e.message, { reason: 'GRAPHQL_VALIDATION_FAILED' })));
        const operation = getOperationAST(document, payload.operationName);
        if (!operation) return [new AppError('BAD_USER_INPUT', 'name the operation to run (operationName)')];
        // Coerced here so a bad variable is the caller's error, not a masked internal one.
        const coerced = getVariableValues(schema, (operation as OperationDefinitionNode).variableDefinitions ?? [], payload.variables ?? {});
        if (coerced.errors) return coerced.errors.map((e) => new AppError('BAD_USER_INPUT', e.message));
        // The same cost rule and budget as over HTTP: a subscription's selection is re-read on
        // every event, so its cost is what each event will cost.
        let cost: number;
        try {
          checkOperationInputs(schema, document, payload.variables ?? undefined);
          cost = guard.checkCost(operationCost(schema, document, payload.variables ?? {}, payload.operationName), bucket);
        } catch (err) {
          return [err as GraphQLError];
        }
        const contextValue: OperationContext = { identity, requestId: randomUUID(), authorization, query: payload.query, rateBucket: bucket, cost };
        return { schema, document, operationName: payload.operationName, variableValues: payload.variables ?? {}, contextValue };
      },
      // Queries and mutations sent over the socket take the HTTP path's executor as they are.
      execute: async (args: ExecutionArgs) => {
        const ctx = args.contextValue as OperationContext;
        const res = await run(ctx, ctx.query, (args.variableValues ?? {}) as Record<string, unknown>, args.operationName ?? undefined);
        return { ...(res.data !== undefined ? { data: res.data } : {}), ...(res.errors ? { errors: res.errors.map(asGraphQLError) } : {}) } as ExecutionResult;
      },
      subscribe: (args: ExecutionArgs) => subscribe({ ...args, subscribeFieldResolver, fieldResolver }),
      onNext: (_ctx, _id, _payload, _args, result) => (result.errors ? { ...result, errors: result.errors.map(format) } : undefined),
      onError: (_ctx, _id, _payload, errors) => errors.map(format),
    },
    wss,
  );

  return {
    activeNatsSubscriptions: () => active,
    natsSubscriptions: () => feeds.size,
    dispose: async () => {
      await disposable.dispose();
    },
  };
}
