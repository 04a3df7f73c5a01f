import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { EntitySchema } from '@mikro-orm/core';
import type { SubgraphServerConfig } from '../config';
import type { EntityManager, MigrationDef } from '../db';
import { type Logger, createLogger } from '../logger';
import { type ServiceDeps, openServiceDeps } from './deps';
import { type BaseContext, type RunningHttp, type SubgraphResolvers, serveSubgraph } from './subgraph';

export type { ServiceDeps };

/** What a subgraph is, whichever process serves it: its GraphQL side and the Postgres schema behind it. */
export interface SubgraphDefinition<C extends BaseContext> {
  name: string;
  /** The Postgres schema it owns. */
  schema: string;
  typeDefs: string;
  resolvers: SubgraphResolvers<C>;
  /** Only for a subgraph that maps tables to entities; the others query with SQL. */
  entities?: EntitySchema<any, any>[];
  migrations: MigrationDef[];
}

/** The SDL a subgraph serves: `schema.graphql` at its package root, beside the `src` given. */
export function subgraphTypeDefs(srcDir: string): string {
  return readFileSync(path.join(srcDir, '..', 'schema.graphql'), 'utf8');
}

export interface Stoppable {
  stop(): Promise<void>;
}

export interface SubgraphServiceOptions<C extends BaseContext> {
  config: SubgraphServerConfig;
  log?: Logger;
  /**
   * The subgraph's own part of each request's context (its services); identity, log and refs are
   * added to it. `em` is forked for this one request.
   */
  context: (em: EntityManager, deps: ServiceDeps, base: BaseContext) => Omit<C, keyof BaseContext>;
  /**
   * Registers consumers and request-reply handlers; called once the bus and database are up.
   * Returns the loop it started (sweeper, batcher, ...), if any: stopped first on stop().
   */
  onStart?: (deps: ServiceDeps) => Promise<Stoppable | void>;
}

export interface RunningService extends ServiceDeps {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/**
 * Start-up order of every subgraph process: database (migrations) -> bus -> outbox relay ->
 * consumers and loops -> HTTP. Each step logs, so a stuck start says where it is stuck. stop()
 * reverses it.
 */
export async function startSubgraphService<C extends BaseContext>(subgraph: SubgraphDefinition<C>, opts: SubgraphServiceOptions<C>): Promise<RunningService> {
  const log = opts.log ?? createLogger(subgraph.name, opts.config.LOG_LEVEL);
  const opened = await openServiceDeps({ ...subgraph, entities: subgraph.entities ?? [], config: opts.config, log });
  const { close, ready, ...deps } = opened;
  let loop: Stoppable | undefined;
  let http: RunningHttp | undefined;
  try {
    loop = (await opts.onStart?.(deps)) ?? undefined;
    http = await serveSubgraph<C>({
      name: subgraph.name,
      typeDefs: subgraph.typeDefs,
      resolvers: subgraph.resolvers,
      host: opts.config.HOST,
      port: opts.config.PORT,
      gatewaySecret: opts.config.GATEWAY_SECRET,
      signatureMaxAgeSeconds: opts.config.GATEWAY_SIGNATURE_MAX_AGE_SECONDS,
      log,
      // The base plus the rest of C is C, which TypeScript cannot see through a generic Omit.
      context: (base) => ({ ...base, ...opts.context(deps.orm.em.fork(), deps, base) }) as C,
      ready,
    });
  } catch (err) {
    await loop?.stop().catch(() => undefined);
    await close().catch(() => undefined);
    throw err;
  }
  const running = http;
  const started = loop;
  return {
    ...deps,
    url: running.url,
    port: running.port,
    stop: async () => {
      log.info('stopping');
      await started?.stop();
      await running.stop();
      await close();
    },
  };
}

/** Entry-point glue: SIGINT/SIGTERM stop the service cleanly, a failed start exits 1. */
export function runUntilSignal(start: () => Promise<{ stop(): Promise<void> }>, log: Logger): void {
  start().then(
    (svc) => {
      let stopping = false;
      const shutdown = (signal: string) => {
        if (stopping) return;
        stopping = true;
        log.info({ signal }, 'shutting down');
        svc.stop().then(
          () => process.exit(0),
          (err) => {
            log.error({ err: (err as Error).message }, 'unclean shutdown');
            process.exit(1);
          },
        );
      };
      process.on('SIGINT', () => shutdown('SIGINT'));
      process.on('SIGTERM', () => shutdown('SIGTERM'));
    },
    (err) => {
      log.fatal({ err: (err as Error).message, stack: (err as Error).stack }, 'failed to start');
      process.exit(1);
    },
  );
}
