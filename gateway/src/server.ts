import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { expressMiddleware } from '@as-integrations/express5';
import express from 'express';
import { Bus, natsUrlParts } from '@cpg/shared/bus';
import type { GatewayConfig } from '@cpg/shared/config';
import { AppError, type Identity, REQUEST_ID_HEADER, formatAppError } from '@cpg/shared/graphql';
import { mountHealth } from '@cpg/shared/http';
import { type Logger, createLogger, withLogContext } from '@cpg/shared/logger';
import { Authenticator } from './auth';
import { composeSupergraph, loadSubgraphDefs } from './compose';
import { queryLimitsRule } from './limits';
import { RateLimiter } from './rate-limit';
import { type GatewayContext, SignedDataSource } from './signed-data-source';
import { serveSubscriptions } from './subscriptions';

export type { GatewayContext };

export interface RunningGateway {
  url: string;
  port: number;
  bus: Bus;
  /** Core NATS subscriptions held for graphql-ws subscribers on this replica. */
  liveSubscriptions(): number;
  stop(): Promise<void>;
}

export function subgraphUrls(config: GatewayConfig): Record<string, string> {
  return {
    merchant: config.SUBGRAPH_MERCHANT_URL,
    address: config.SUBGRAPH_ADDRESS_URL,
    payment: config.SUBGRAPH_PAYMENT_URL,
    withdrawal: config.SUBGRAPH_WITHDRAWAL_URL,
    compliance: config.SUBGRAPH_COMPLIANCE_URL,
  };
}

function errorBody(err: AppError) {
  return { errors: [{ message: err.message, extensions: { code: err.code } }] };
}

/**
 * The only public door. Composes the supergraph from the subgraphs' schema files (a composition
 * error stops the start), authenticates every request, applies rate, depth and cost limits, and
 * forwards the caller's identity to subgraphs signed with HMAC.
 */
export async function startGateway(config: GatewayConfig, log: Logger = createLogger('gateway', config.LOG_LEVEL)): Promise<RunningGateway> {
  log.info('composing the supergraph');
  const urls = subgraphUrls(config);
  const supergraphSdl = composeSupergraph(loadSubgraphDefs(urls));

  log.info({ url: natsUrlParts(config.NATS_URL).server, user: config.NATS_USER ?? natsUrlParts(config.NATS_URL).user }, 'connecting to nats');
  const bus = await Bus.connect({
    url: config.NATS_URL,
    namespace: config.NATS_NAMESPACE,
    name: 'gateway',
    log,
    user: config.NATS_USER,
    pass: config.NATS_PASSWORD,
  });
  const auth = new Authenticator(bus, config.OPERATOR_TOKEN, config.API_KEY_CACHE_MS, log);
  const limiter = new RateLimiter(config.RATE_LIMIT_REQUESTS, config.RATE_LIMIT_WINDOW_SECONDS * 1000);

  const gateway = new ApolloGateway({
    supergraphSdl,
    buildService: ({ name, url }) => new SignedDataSource(name, url!, config.GATEWAY_SECRET),
  });
  const apollo = new ApolloServer<GatewayContext>({
    gateway,
    includeStacktraceInErrorResponses: false,
    // Shutdown is ours (runUntilSignal): Apollo's own signal handler would race it and re-raise.
    stopOnTerminationSignals: false,
    validationRules: [queryLimitsRule(config.MAX_QUERY_DEPTH, config.MAX_QUERY_COST)],
    formatError: (formatted) => formatAppError(formatted, (message) => log.error({ err: message }, 'internal error')) as typeof formatted,
  });
  await apollo.start();

  const app = express();
  app.disable('x-powered-by');
  // The widget's static server and local reverse proxies forward the customer's address; trust it
  // only from loopback so a remote client cannot pick its own rate-limit bucket.
  app.set('trust proxy', 'loopback');
  mountHealth(app, async () => {
    const checks: Record<string, boolean> = { nats: !bus.nc.isClosed() };
    await Promise.all(
      Object.entries(urls).map(async ([name, url]) => {
        try {
          const res = await fetch(new URL('/readyz', url), { signal: AbortSignal.timeout(1000) });
          checks[name] = res.ok;
        } catch {
          checks[name] = false;
        }
      }),
    );
    return checks;
  });
  app.use(
    '/graphql',
    async (req, res, next) => {
      try {
        const identity = await auth.identify(req.headers.authorization);
        const bucket = identity.kind === 'merchant' ? `key:${identity.keyId}` : identity.kind === 'operator' ? 'operator' : `ip:${req.ip}`;
        const waitMs = limiter.take(bucket);
        if (waitMs > 0) {
          res.setHeader('Retry-After', String(Math.ceil(waitMs / 1000)));
          throw new AppError('RATE_LIMITED', `rate limit exceeded; retry in ${Math.ceil(waitMs / 1000)} s`);
        }
        res.locals.identity = identity;
        next();
      } catch (err) {
        if (!(err instanceof AppError)) return next(err);
        const status = err.code === 'RATE_LIMITED' ? 429 : err.code === 'UNAVAILABLE' ? 503 : 401;
        res.status(status).json(errorBody(err));
      }
    },
    express.json({ limit: '1mb' }),
    expressMiddleware(apollo, {
      context: async ({ res }) => ({ identity: res.locals.identity as Identity, requestId: String(res.locals.requestId) }),
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
    path: '/graphql',
    apollo,
    schema: () => gateway.schema,
    auth,
    limiter,
    bus,
    log,
    maxDepth: config.MAX_QUERY_DEPTH,
    maxCost: config.MAX_QUERY_COST,
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
    stop: async () => {
      // Sockets first: upgraded connections are not HTTP connections, so closeAllConnections
      // would leave them (and their NATS subscriptions) open.
      await subscriptions.dispose();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await apollo.stop();
      await bus.close();
    },
  };
}
