import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { expressMiddleware } from '@as-integrations/express5';
import express from 'express';
import { Bus, natsUrlParts } from '@cpg/core/bus';
import type { GatewayConfig } from '@cpg/core/config';
import { AppError, type Identity, REQUEST_ID_HEADER, formatAppError } from '@cpg/core/graphql';
import { mountHealth } from '@cpg/core/http';
import { type Logger, createLogger, withLogContext } from '@cpg/core/logger';
import { Authenticator } from './auth';
import { composeSupergraph, loadSubgraphDefs } from './compose';
import { clientIp, ipBucket, trustedProxies } from './client-ip';
import { type ChargedContext, Guard, costPlugin } from './guard';
import { hideSuggestions, shapeRules } from './limits';
import { ReplicaShare, limitsGroup } from './replica-share';
import { type GatewayContext, SignedDataSource } from './signed-data-source';
import { serveSubscriptions } from './subscriptions';

export type { GatewayContext };

export interface RunningGateway {
  url: string;
  port: number;
  bus: Bus;
  /** Core NATS subscriptions held for graphql-ws subscribers on this replica. */
  liveSubscriptions(): number;
  /** Replicas this one shares the rate limits with, itself included (1: alone or local fallback). */
  rateLimitReplicas(): number;
  stop(): Promise<void>;
}

/** Every subgraph's URLs: one, or its replicas (SUBGRAPH_<NAME>_URL comma-separated). */
export function subgraphReplicaUrls(config: GatewayConfig): Record<string, string[]> {
  const list = (raw: string) =>
    raw
      .split(',')
      .map((u) => u.trim())
      .filter(Boolean);
  return {
    merchant: list(config.SUBGRAPH_MERCHANT_URL),
    address: list(config.SUBGRAPH_ADDRESS_URL),
    payment: list(config.SUBGRAPH_PAYMENT_URL),
    withdrawal: list(config.SUBGRAPH_WITHDRAWAL_URL),
    compliance: list(config.SUBGRAPH_COMPLIANCE_URL),
  };
}

/** The routing URL composed into the supergraph: each subgraph's first. */
export function subgraphUrls(config: GatewayConfig): Record<string, string> {
  return Object.fromEntries(Object.entries(subgraphReplicaUrls(config)).map(([name, urls]) => [name, urls[0]!]));
}

function errorBody(err: AppError) {
  const { http: _http, ...extensions } = err.extensions as Record<string, unknown>;
  return { errors: [{ message: err.message, extensions: { ...extensions, code: err.code } }] };
}

/**
 * The only public door. Composes the supergraph from the subgraphs' schema files (a composition
 * error stops the start), authenticates every request, applies rate, depth and cost limits, and
 * forwards the caller's identity to subgraphs signed with HMAC.
 */
export async function startGateway(config: GatewayConfig, log: Logger = createLogger('gateway', config.LOG_LEVEL)): Promise<RunningGateway> {
  log.info('composing the supergraph');
  const urls = subgraphUrls(config);
  const replicaUrls = subgraphReplicaUrls(config);
  const supergraphSdl = composeSupergraph(loadSubgraphDefs(urls));

  log.info({ url: natsUrlParts(config.NATS_URL).server, user: config.NATS_USER ?? natsUrlParts(config.NATS_URL).user }, 'connecting to nats');
  const bus = await Bus.connect({
    url: config.NATS_URL,
    namespace: config.NATS_NAMESPACE,
    name: 'gateway',
    log,
    user: config.NATS_USER,
    pass: config.NATS_PASSWORD,
    replicas: config.NATS_REPLICAS,
  });
  const auth = new Authenticator(bus, config.OPERATOR_TOKEN, config.API_KEY_CACHE_MS, log);
  const guard = new Guard(config);
  // Shared limits across replicas without a network round trip per request (replica-share.ts).
  const share = new ReplicaShare({
    bus,
    namespace: config.NATS_NAMESPACE,
    group: limitsGroup(Guard.sharedLimits(config)),
    ttlMs: config.RATE_LIMIT_PEER_TTL_MS ?? 10_000,
    onChange: (n) => guard.shareAmong(n),
    log,
  });
  await share.start();
  const production = config.NODE_ENV === 'production';
  // Off in production unless asked for: the contract is published (shared/api), so introspection
  // only helps tooling, and hides nothing an operator cannot re-enable (docs/limits.md).
  const introspection = config.GRAPHQL_INTROSPECTION ? config.GRAPHQL_INTROSPECTION === 'true' : !production;

  const gateway = new ApolloGateway({
    supergraphSdl,
    buildService: ({ name, url }) => new SignedDataSource(name, url!, config.GATEWAY_SECRET, replicaUrls[name] ?? []),
  });
  const apollo = new ApolloServer<ChargedContext>({
    gateway,
    includeStacktraceInErrorResponses: false,
    // Shutdown is ours (runUntilSignal): Apollo's own signal handler would race it and re-raise.
    stopOnTerminationSignals: false,
    introspection,
    // The parser stops at this many tokens: a megabyte of aliases is refused before it is a tree.
    parseOptions: { maxTokens: config.MAX_QUERY_TOKENS },
    validationRules: shapeRules(guard.limits),
    plugins: [costPlugin(guard)],
    formatError: (formatted) => {
      const out = formatAppError(formatted, (message) => log.error({ err: message }, 'internal error')) as typeof formatted;
      // Apollo re-codes our validation refusals GRAPHQL_VALIDATION_FAILED; keep the limit's own reason.
      const ownReason = formatted.extensions?.reason;
      if (typeof ownReason === 'string' && out.extensions) out.extensions.reason = ownReason;
      return production ? { ...out, message: hideSuggestions(out.message) } : out;
    },
  });
  await apollo.start();

  const app = express();
  app.disable('x-powered-by');
  // The widget's static server and local reverse proxies forward the customer's address; trust it
  // only from loopback so a remote client cannot pick its own rate-limit bucket.
  const isTrustedProxy = trustedProxies(config.TRUSTED_PROXIES);
  app.set('trust proxy', isTrustedProxy);
  mountHealth(app, async () => {
    const checks: Record<string, boolean> = { nats: !bus.nc.isClosed() };
    await Promise.all(
      // A replicated subgraph is ready while any one of its replicas is: requests fail over.
      Object.entries(replicaUrls).map(async ([name, list]) => {
        const answers = await Promise.all(
          list.map(async (url) => {
            try {
              return (await fetch(new URL('/readyz', url), { signal: AbortSignal.timeout(1000) })).ok;
            } catch {
              return false;
            }
          }),
        );
        checks[name] = answers.some(Boolean);
      }),
    );
    return checks;
  });
  app.use(
    '/graphql',
    async (req, res, next) => {
      try {
        const ipKey = ipBucket(clientIp(req.socket.remoteAddress, req.headers['x-forwarded-for'], isTrustedProxy));
        const authorization = req.headers.authorization;
        // An address that keeps failing is refused before its credential is even looked up, so a
        // stream of made-up keys costs the merchant service nothing.
        if (authorization) guard.checkAuthFailures(ipKey);
        let identity: Identity;
        try {
          identity = await auth.identify(authorization);
        } catch (err) {
          if (err instanceof AppError && err.code === 'UNAUTHENTICATED') guard.authFailed(ipKey);
          throw err;
        }
        const bucket = Guard.bucket(identity, ipKey);
        guard.chargeRequest(bucket);
        res.locals.identity = identity;
        res.locals.rateBucket = bucket;
        next();
      } catch (err) {
        if (!(err instanceof AppError)) return next(err);
        const retry = err.extensions.retryAfterSeconds;
        if (typeof retry === 'number') res.setHeader('Retry-After', String(retry));
        const status = err.code === 'RATE_LIMITED' ? 429 : err.code === 'UNAVAILABLE' ? 503 : 401;
        res.status(status).json(errorBody(err));
      }
    },
    express.json({ limit: '1mb' }),
    expressMiddleware(apollo, {
      context: async ({ res }) => ({
        identity: res.locals.identity as Identity,
        requestId: String(res.locals.requestId),
        rateBucket: res.locals.rateBucket as string,
      }),
    }),
  );

  const server = http.createServer((req, res) => {
    const requestId = typeof req.headers[REQUEST_ID_HEADER] === 'string' ? (req.headers[REQUEST_ID_HEADER] as string).slice(0, 64) : randomUUID();
    res.setHeader(REQUEST_ID_HEADER, requestId);
    (res as unknown as { locals: Record<string, unknown> }).locals = { requestId };
    withLogContext({ requestId }, () => app(req, res));
  });
  const subscriptions = serveSubscriptions({
    server,
    isTrustedProxy,
    path: '/graphql',
    apollo,
    schema: () => gateway.schema,
    auth,
    guard,
    bus,
    log,
    hideSuggestions: production,
    maxMessageBytes: config.WS_MAX_MESSAGE_BYTES,
    maxPerConnection: config.WS_MAX_SUBSCRIPTIONS_PER_CONNECTION,
    maxConnectionsPerIp: config.WS_MAX_CONNECTIONS_PER_IP,
    maxTokens: config.MAX_QUERY_TOKENS,
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.GATEWAY_PORT, config.HOST, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${config.HOST}:${port}/graphql`;
  log.info({ url }, `gateway listening on ${url}`);
  return {
    url,
    port,
    bus,
    liveSubscriptions: () => subscriptions.activeNatsSubscriptions(),
    rateLimitReplicas: () => share.replicas,
    stop: async () => {
      // Sockets first: upgraded connections are not HTTP connections, so closeAllConnections
      // would leave them (and their NATS subscriptions) open.
      await subscriptions.dispose();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await apollo.stop();
      // Leaves the group, so the other replicas take this one's share back at once.
      await share.stop();
      await bus.close();
    },
  };
}
