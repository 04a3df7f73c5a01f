import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import type { ApolloServer } from '@apollo/server';
import type { Bus } from '@cpg/core/bus';
import { AppError, type Identity, formatAppError, checkOperationInputs } from '@cpg/core/graphql';
import type { Logger } from '@cpg/core/logger';
import {
  type ExecutionArgs,
  type ExecutionResult,
  type GraphQLFormattedError,
  GraphQLError,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type ValidationRule,
  buildSchema,
  getOperationAST,
  getVariableValues,
  parse,
  printSchema,
  specifiedRules,
  subscribe,
  validate,
} from 'graphql';
import type { ServerOptions } from 'graphql-ws';
import { type Extra, useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { Authenticator } from './auth';
import { clientIp, ipBucket } from './client-ip';
import { Guard } from './guard';
import { hideSuggestions, operationCost, shapeRules } from './limits';
import type { GatewayContext } from './signed-data-source';
import { type OperationContext, asGraphQLError, codeOf } from './subscription-context';
import { LiveFields } from './subscription-fields';
import { projectingFieldResolver } from './subscription-projection';
import { Rereads } from './subscription-reread';

export interface SubscriptionServerOptions {
  server: http.Server;
  path: string;
  apollo: ApolloServer<GatewayContext>;
  /** The API schema the HTTP endpoint serves (undefined until the gateway has loaded). */
  schema: () => GraphQLSchema | undefined;
  auth: Authenticator;
  /** Whose X-Forwarded-For is believed (client-ip.ts); default loopback only. */
  isTrustedProxy?: (addr: string) => boolean;
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

type ConnectionParams = Record<string, unknown> | undefined;
type WsServerOptions = ServerOptions<ConnectionParams, Extra>;

/**
 * Close codes at connect: 4401 is fatal for graphql-ws clients (a bad key will not get better by
 * retrying); 1013 ("try again later") lets them retry when keys cannot be checked right now.
 */
const CLOSE_UNAUTHORIZED = 4401;
const CLOSE_TRY_AGAIN = 1013;
const CLOSE_RATE_LIMITED = 4429;

const ipKeyOf = (request: http.IncomingMessage, isTrusted?: (addr: string) => boolean) =>
  ipBucket(clientIp(request.socket.remoteAddress, request.headers['x-forwarded-for'], isTrusted));

function authorizationOf(params: ConnectionParams): string | undefined {
  const v = params?.authorization ?? params?.Authorization;
  if (v === undefined || v === null || v === '') return undefined;
  // A non-string would otherwise read as "anonymous" and hide the client's mistake.
  return typeof v === 'string' ? v : 'invalid';
}

/**
 * graphql-ws on the gateway's own `/graphql`: authenticates at connect, caps message size,
 * sockets per client IP and operations per socket, and checks each operation as the HTTP path
 * does. Subscription fields are the live-field table's (subscription-fields.ts), their events
 * re-read through the supergraph (subscription-reread.ts) and handed back as the subscriber may
 * see them (subscription-projection.ts); queries and mutations take the HTTP path's executor.
 */
export function serveSubscriptions(opts: SubscriptionServerOptions): SubscriptionServer {
  const reads = new Rereads({ apollo: opts.apollo, auth: opts.auth, guard: opts.guard, maxConcurrentReads: opts.maxConcurrentReads });
  const fields = new LiveFields(opts.bus, opts.log, reads);
  const fieldResolver = projectingFieldResolver((live, ctx, info) => reads.readEvent(live, ctx, info));

  const format = (e: GraphQLError): GraphQLFormattedError => {
    const out = formatAppError(e.toJSON(), (message) => opts.log.error({ err: message }, 'internal error in a subscription')) as GraphQLFormattedError;
    const { http: _http, ...extensions } = (out.extensions ?? {}) as Record<string, unknown>;
    return { ...out, extensions, message: opts.hideSuggestions ? hideSuggestions(out.message) : out.message };
  };

  const wss = new WebSocketServer({
    server: opts.server,
    path: opts.path,
    // ws's default is 100 MiB per message; graphql-ws messages are a query and its variables.
    maxPayload: opts.maxMessageBytes ?? 65_536,
    verifyClient: capConnectionsPerIp(opts.maxConnectionsPerIp ?? 100, opts.isTrustedProxy),
  });
  const disposable = useServer<ConnectionParams>(
    {
      onConnect: authenticateAtConnect(opts),
      onSubscribe: checkOperation(opts, localSchemaOf(opts.schema)),
      // Queries and mutations sent over the socket take the HTTP path's executor as they are.
      execute: async (args: ExecutionArgs) => {
        const ctx = args.contextValue as OperationContext;
        const res = await reads.run(ctx, ctx.query, (args.variableValues ?? {}) as Record<string, unknown>, args.operationName ?? undefined);
        return { ...(res.data !== undefined ? { data: res.data } : {}), ...(res.errors ? { errors: res.errors.map(asGraphQLError) } : {}) } as ExecutionResult;
      },
      subscribe: (args: ExecutionArgs) => subscribe({ ...args, subscribeFieldResolver: fields.subscribe, fieldResolver }),
      onNext: (_ctx, _id, _payload, _args, result) => (result.errors ? { ...result, errors: result.errors.map(format) } : undefined),
      onError: (_ctx, _id, _payload, errors) => errors.map(format),
    },
    wss,
  );

  return {
    activeNatsSubscriptions: () => fields.listening,
    natsSubscriptions: () => fields.subjects,
    dispose: async () => {
      await disposable.dispose();
    },
  };
}

/**
 * Apollo Server wraps every field resolver of the schema it serves (for plugins), and those
 * wrappers would shadow the field resolver given to graphql's subscribe: the events are shaped
 * on a resolver-free copy of the same API schema instead.
 */
function localSchemaOf(apiSchema: () => GraphQLSchema | undefined): () => GraphQLSchema | undefined {
  let copied: { from: GraphQLSchema; schema: GraphQLSchema } | undefined;
  return () => {
    const api = apiSchema();
    if (!api) return undefined;
    if (copied?.from !== api) copied = { from: api, schema: buildSchema(printSchema(api)) };
    return copied.schema;
  };
}

/**
 * ws's verifyClient: refuses a client IP's socket beyond `max`. Counted on the TCP socket before
 * the handshake completes (its close event fires whether the upgrade succeeds or not), so
 * concurrent handshakes cannot all slip under the cap.
 */
function capConnectionsPerIp(max: number, isTrusted?: (addr: string) => boolean) {
  const connectionsPerIp = new Map<string, number>();
  return (info: { req: http.IncomingMessage }, done: (ok: boolean, code?: number, message?: string) => void) => {
    const key = ipKeyOf(info.req, isTrusted);
    const open = connectionsPerIp.get(key) ?? 0;
    if (open >= max) {
      done(false, 429, `at most ${max} connections per client`);
      return;
    }
    connectionsPerIp.set(key, open + 1);
    info.req.socket.once('close', () => {
      const n = (connectionsPerIp.get(key) ?? 1) - 1;
      if (n <= 0) connectionsPerIp.delete(key);
      else connectionsPerIp.set(key, n);
    });
    done(true);
  };
}

/** graphql-ws's onConnect: a key given in connectionParams must be valid; none means anonymous. */
function authenticateAtConnect({ auth, guard, isTrustedProxy }: SubscriptionServerOptions): NonNullable<WsServerOptions['onConnect']> {
  return async (ctx) => {
    const ipKey = ipKeyOf(ctx.extra.request, isTrustedProxy);
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
  };
}

/**
 * graphql-ws's onSubscribe, once per operation: identifies and charges the caller, caps
 * operations per socket, and parses, validates and prices the document as the HTTP path does.
 */
function checkOperation(opts: SubscriptionServerOptions, localSchema: () => GraphQLSchema | undefined): NonNullable<WsServerOptions['onSubscribe']> {
  const { auth, guard } = opts;
  const maxPerConnection = opts.maxPerConnection ?? 20;
  const rules: ValidationRule[] = [...specifiedRules, ...shapeRules(guard.limits)];
  return async (ctx, _id, payload): Promise<ExecutionArgs | readonly GraphQLError[]> => {
    const authorization = authorizationOf(ctx.connectionParams);
    let identity: Identity;
    try {
      identity = await auth.identify(authorization);
    } catch (err) {
      return [err instanceof GraphQLError ? err : new AppError('UNAVAILABLE', 'cannot authenticate right now')];
    }
    const bucket = Guard.bucket(identity, ipKeyOf(ctx.extra.request, opts.isTrustedProxy));
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
  };
}
