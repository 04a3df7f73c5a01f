import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { expressMiddleware } from '@as-integrations/express5';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper';
import express from 'express';
import { type GraphQLResolveInfo, type GraphQLScalarType, parse } from 'graphql';
import type { Logger } from '../logger';
import { withLogContext } from '../logger';
import {
  type Identity,
  PublicRefs,
  REQUEST_ID_HEADER,
  checkOperationInputs,
  checkSignatureHeaders,
  formatAppError,
  scalarResolvers,
  verifyRequest,
} from '../graphql';
import { ReplayGuard } from '../graphql/replay-guard';
import { mountHealth } from './health';

export interface BaseContext {
  identity: Identity;
  requestId: string;
  log: Logger;
  /** Seals entity keys handed to non-owners (checkout readers); see PublicRefs. */
  refs: PublicRefs;
}

/** A field resolver, a federation __resolveReference, or either in object form, taking context C. */
type FieldResolver<C> =
  | ((parent: never, args: never, context: C, info: GraphQLResolveInfo) => unknown)
  | ((reference: never, context: C, info: GraphQLResolveInfo) => unknown)
  | { resolve: (parent: never, args: never, context: C, info: GraphQLResolveInfo) => unknown }
  | { subscribe: (parent: never, args: never, context: C, info: GraphQLResolveInfo) => unknown };

/**
 * A subgraph's resolver map: the generated `Resolvers` of subgraphs/<name>/src/generated (codegen.yml),
 * which checks fields, parents and results against that subgraph's schema. What is asked here is
 * that every resolver takes the context this server builds.
 */
export interface SubgraphResolvers<C> {
  readonly [typeName: string]: GraphQLScalarType | { readonly [field: string]: FieldResolver<C> | undefined } | undefined;
}

export interface SubgraphHttpOptions<C extends BaseContext> {
  name: string;
  typeDefs: string;
  resolvers: SubgraphResolvers<C>;
  host: string;
  port: number;
  gatewaySecret: string;
  signatureMaxAgeSeconds: number;
  /** Most nonces remembered within one signature window; past it, requests are refused. */
  replayCapacity?: number;
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
 * Serves one subgraph. Every GraphQL request must carry the gateway's signature over this
 * subgraph's name, the method, the exact body bytes, a timestamp, a nonce and the identity:
 * anything else is refused before parsing, so no subgraph can be used around the gateway's auth
 * and limits, and a captured request cannot be replayed, re-aimed or given another body.
 * `name` is the name the gateway knows this subgraph by (its supergraph name).
 */
export async function serveSubgraph<C extends BaseContext>(opts: SubgraphHttpOptions<C>): Promise<RunningHttp> {
  // The one cast of the resolver maps: buildSubgraphSchema types resolvers loosely (any parent, a
  // 4-argument function for __resolveReference too); SubgraphResolvers and codegen checked them.
  const resolvers = { ...scalarResolvers, ...opts.resolvers } as GraphQLResolverMap<unknown>;
  const schema = buildSubgraphSchema([{ typeDefs: parse(opts.typeDefs), resolvers }]);
  const apollo = new ApolloServer<C>({
    schema,
    includeStacktraceInErrorResponses: false,
    // Shutdown is ours (runUntilSignal): Apollo's own signal handler would race it and re-raise.
    stopOnTerminationSignals: false,
    // Traces would go to Apollo's hosted studio, which a self-hosted gateway does not use.
    plugins: [
      ApolloServerPluginInlineTraceDisabled(),
      // Input bounds (shared/core/src/graphql/limits.ts) on the raw variables, before any resolver,
      // scalar parser or codec sees a value.
      {
        requestDidStart: async () => ({
          didResolveOperation: async (rc) => checkOperationInputs(rc.schema, rc.document, rc.request.variables),
        }),
      },
    ],
    formatError: (formatted) => formatAppError(formatted, (message) => opts.log.error({ err: message }, 'internal error in resolver')) as typeof formatted,
  });
  await apollo.start();

  const app = express();
  app.disable('x-powered-by');
  mountHealth(app, opts.ready);
  const refs = new PublicRefs(opts.gatewaySecret);
  const replays = new ReplayGuard(opts.signatureMaxAgeSeconds, opts.replayCapacity);
  const refuse = (req: express.Request, res: express.Response, reason: string, status = 401, code = 'UNAUTHENTICATED') => {
    opts.log.warn({ reason, method: req.method, remote: req.socket.remoteAddress }, 'refused a request not signed by the gateway');
    res.status(status).json({ errors: [{ message: `refused: ${reason}`, extensions: { code } }] });
  };
  app.use(
    '/graphql',
    (req, res, next) => {
      // A GET carries its operation in the URL, outside the signed body; the gateway only POSTs.
      if (req.method !== 'POST') return refuse(req, res, 'only signed POST requests are accepted');
      const checked = checkSignatureHeaders(req.headers, opts.name, opts.signatureMaxAgeSeconds);
      if (!checked.ok) return refuse(req, res, checked.reason);
      next();
    },
    // Raw bytes, not express.json: the signature covers the body exactly as the gateway sent it,
    // so it is checked before anything parses it. No inflating: the hash is of the wire bytes.
    express.raw({ type: () => true, limit: '1mb', inflate: false }),
    (req, res, next) => {
      const body: Buffer = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const verified = verifyRequest(req.headers, { method: req.method, subgraph: opts.name, body }, opts.gatewaySecret, opts.signatureMaxAgeSeconds);
      if (!verified.ok) return refuse(req, res, verified.reason);
      const verdict = replays.admit(verified.nonce);
      if (verdict === 'replayed') return refuse(req, res, 'nonce already used (replayed request)');
      // Capacity, not the caller's credentials: answered like any overloaded dependency.
      if (verdict === 'full') return refuse(req, res, 'too many signed requests within the replay window', 503, 'UNAVAILABLE');
      res.locals.identity = verified.identity;
      if (!req.is('application/json')) {
        // Apollo answers a body-less POST with its own 400 (wrong content type).
        req.body = {};
        return next();
      }
      try {
        req.body = JSON.parse(body.toString('utf8'));
      } catch {
        res.status(400).json({ errors: [{ message: 'request body is not valid JSON', extensions: { code: 'BAD_USER_INPUT' } }] });
        return;
      }
      next();
    },
    expressMiddleware(apollo, {
      context: async ({ req, res }) => {
        const requestId = String(req.headers[REQUEST_ID_HEADER] ?? randomUUID());
        const identity = res.locals.identity as Identity;
        const merchantId = identity.kind === 'merchant' ? identity.merchantId : undefined;
        const log = opts.log.child({ requestId, ...(merchantId ? { merchantId } : {}) });
        return opts.context({ identity, requestId, log, refs });
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
