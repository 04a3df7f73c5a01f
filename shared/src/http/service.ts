import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper';
import type { EntitySchema } from '@mikro-orm/core';
import type { SubgraphServerConfig } from '../config';
import { type MigrationDef, type MikroORM, OutboxRelay, openOrm } from '../db';
import { Bus } from '../bus';
import { type Logger, createLogger } from '../logger';
import { type BaseContext, type RunningHttp, serveSubgraph } from './subgraph';

export interface ServiceDeps {
  orm: MikroORM;
  bus: Bus;
  relay: OutboxRelay;
  log: Logger;
  /** The subgraph's Postgres schema name. */
  schema: string;
}

export interface SubgraphServiceOptions<C extends BaseContext> {
  name: string;
  schema: string;
  typeDefs: string;
  resolvers: GraphQLResolverMap<C>;
  entities: EntitySchema<any, any>[];
  migrations: MigrationDef[];
  config: SubgraphServerConfig;
  log?: Logger;
  context: (base: BaseContext, deps: ServiceDeps) => C;
  /** Registers consumers and request-reply handlers; called once the bus and database are up. */
  onStart?: (deps: ServiceDeps) => Promise<void>;
}

export interface RunningService extends ServiceDeps {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/**
 * Start-up order of every subgraph process: database (migrations) -> bus -> outbox relay ->
 * consumers -> HTTP. Each step logs, so a stuck start says where it is stuck. stop() reverses it.
 */
export async function startSubgraphService<C extends BaseContext>(opts: SubgraphServiceOptions<C>): Promise<RunningService> {
  const log = opts.log ?? createLogger(opts.name, opts.config.LOG_LEVEL);
  log.info('connecting to postgres and applying migrations');
  const orm = await openOrm({
    databaseUrl: opts.config.DATABASE_URL,
    schema: opts.schema,
    entities: opts.entities,
    migrations: opts.migrations,
    poolMax: opts.config.DB_POOL_MAX,
    log,
  });
  let bus: Bus | undefined;
  let relay: OutboxRelay | undefined;
  let http: RunningHttp | undefined;
  try {
    log.info({ url: opts.config.NATS_URL }, 'connecting to nats');
    bus = await Bus.connect({ url: opts.config.NATS_URL, namespace: opts.config.NATS_NAMESPACE, name: opts.name, log });
    relay = new OutboxRelay({ em: orm.em, schema: opts.schema, bus, log: log.child({ component: 'outbox' }) });
    relay.start();
    const deps: ServiceDeps = { orm, bus, relay, log, schema: opts.schema };
    await opts.onStart?.(deps);
    http = await serveSubgraph<C>({
      name: opts.name,
      typeDefs: opts.typeDefs,
      resolvers: opts.resolvers,
      host: opts.config.HOST,
      port: opts.config.PORT,
      gatewaySecret: opts.config.GATEWAY_SECRET,
      signatureMaxAgeSeconds: opts.config.GATEWAY_SIGNATURE_MAX_AGE_SECONDS,
      log,
      context: (base) => opts.context(base, deps),
      ready: async () => ({ postgres: await orm.isConnected(), nats: !bus!.nc.isClosed() && bus!.nc.info !== undefined }),
    });
    const running = http;
    return {
      ...deps,
      url: running.url,
      port: running.port,
      stop: async () => {
        log.info('stopping');
        await running.stop();
        await relay!.stop();
        await bus!.close();
        await orm.close();
      },
    };
  } catch (err) {
    await http?.stop().catch(() => undefined);
    await relay?.stop().catch(() => undefined);
    await bus?.close().catch(() => undefined);
    await orm.close().catch(() => undefined);
    throw err;
  }
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
