import type { EntitySchema } from '@mikro-orm/core';
import type { SubgraphServerConfig } from '../config';
import type { MigrationDef } from '../db';
import { type Logger, createLogger } from '../logger';
import { type ServiceDeps, openServiceDeps } from './deps';
import { type BaseContext, type RunningHttp, type SubgraphResolvers, serveSubgraph } from './subgraph';

export type { ServiceDeps };

export interface SubgraphServiceOptions<C extends BaseContext> {
  name: string;
  schema: string;
  typeDefs: string;
  resolvers: SubgraphResolvers<C>;
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
  const opened = await openServiceDeps({ ...opts, log });
  const { close, ready, ...deps } = opened;
  let http: RunningHttp | undefined;
  try {
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
      ready,
    });
  } catch (err) {
    await close().catch(() => undefined);
    throw err;
  }
  const running = http;
  return {
    ...deps,
    url: running.url,
    port: running.port,
    stop: async () => {
      log.info('stopping');
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
