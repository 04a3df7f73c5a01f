import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { expressMiddleware } from '@as-integrations/express5';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper';
import express from 'express';
import { parse } from 'graphql';
import type { Logger } from '../logger';
import { withLogContext } from '../logger';
import { type Identity, REQUEST_ID_HEADER, formatAppError, scalarResolvers, verifyIdentity } from '../graphql';
import { mountHealth } from './health';

export interface BaseContext {
  identity: Identity;
  requestId: string;
  log: Logger;
}

export interface SubgraphHttpOptions<C extends BaseContext> {
  name: string;
  typeDefs: string;
  resolvers: GraphQLResolverMap<C>;
  host: string;
  port: number;
  gatewaySecret: string;
  signatureMaxAgeSeconds: number;
  log: Logger;
  /** Adds the subgraph's own services (EntityManager fork, bus, ...) to each request's context. */
  context: (base: BaseContext) => C;
  ready: () => Promise<Record<string, boolean>>;
}

export interface RunningHttp {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/**
 * Serves one subgraph. Every GraphQL request must carry the gateway's signed identity: anything
 * else is refused before parsing, so no subgraph can be used around the gateway's auth and limits.
 */
export async function serveSubgraph<C extends BaseContext>(opts: SubgraphHttpOptions<C>): Promise<RunningHttp> {
  const schema = buildSubgraphSchema([{ typeDefs: parse(opts.typeDefs), resolvers: { ...scalarResolvers, ...opts.resolvers } as GraphQLResolverMap<unknown> }]);
  const apollo = new ApolloServer<C>({
    schema,
    includeStacktraceInErrorResponses: false,
    // Shutdown is ours (runUntilSignal): Apollo's own signal handler would race it and re-raise.
    stopOnTerminationSignals: false,
    // Traces would go to Apollo's hosted studio, which a self-hosted gateway does not use.
    plugins: [ApolloServerPluginInlineTraceDisabled()],
    formatError: (formatted) => formatAppError(formatted, (message) => opts.log.error({ err: message }, 'internal error in resolver')) as typeof formatted,
  });
  await apollo.start();

  const app = express();
  app.disable('x-powered-by');
  mountHealth(app, opts.ready);
  app.use(
    '/graphql',
    (req, res, next) => {
      const verified = verifyIdentity(req.headers, opts.gatewaySecret, opts.signatureMaxAgeSeconds);
      if (!verified.ok) {
        opts.log.warn({ reason: verified.reason, remote: req.socket.remoteAddress }, 'refused a request not signed by the gateway');
        res.status(401).json({ errors: [{ message: `refused: ${verified.reason}`, extensions: { code: 'UNAUTHENTICATED' } }] });
        return;
      }
      res.locals.identity = verified.identity;
      next();
    },
    express.json({ limit: '1mb' }),
    expressMiddleware(apollo, {
      context: async ({ req, res }) => {
        const requestId = String(req.headers[REQUEST_ID_HEADER] ?? randomUUID());
        const identity = res.locals.identity as Identity;
        const merchantId = identity.kind === 'merchant' ? identity.merchantId : undefined;
        const log = opts.log.child({ requestId, ...(merchantId ? { merchantId } : {}) });
        return opts.context({ identity, requestId, log });
      },
    }),
  );

  const server = http.createServer((req, res) => {
    const requestId = String(req.headers[REQUEST_ID_HEADER] ?? randomUUID());
    withLogContext({ requestId }, () => app(req, res));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  opts.log.info({ port }, `${opts.name} subgraph listening on http://${opts.host}:${port}/graphql`);
  return {
    url: `http://${opts.host}:${port}/graphql`,
    port,
    stop: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await apollo.stop();
    },
  };
}
