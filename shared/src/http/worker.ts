import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { EntitySchema } from '@mikro-orm/core';
import express from 'express';
import type { WorkerConfig } from '../config';
import { type MigrationDef, type MikroORM, OutboxRelay, openOrm } from '../db';
import { Bus } from '../bus';
import { type Logger, createLogger } from '../logger';
import { mountHealth } from './health';
import type { ServiceDeps } from './service';

export interface WorkerOptions {
  name: string;
  schema: string;
  entities: EntitySchema<any, any>[];
  migrations: MigrationDef[];
  config: WorkerConfig;
  log?: Logger;
  /**
   * Starts the worker's loops and handlers once the database and bus are up; returns how to
   * stop them and, optionally, extra readiness checks (e.g. "chain answers").
   */
  run: (deps: ServiceDeps) => Promise<{ stop(): Promise<void>; ready?: () => Promise<Record<string, boolean>> }>;
}

export interface RunningWorker extends ServiceDeps {
  port: number;
  stop(): Promise<void>;
}

/** Start-up of a worker process: database (migrations) -> bus -> outbox relay -> work -> health port. */
export async function startWorkerService(opts: WorkerOptions): Promise<RunningWorker> {
  const log = opts.log ?? createLogger(opts.name, opts.config.LOG_LEVEL);
  log.info('connecting to postgres and applying migrations');
  const orm: MikroORM = await openOrm({
    databaseUrl: opts.config.DATABASE_URL,
    schema: opts.schema,
    entities: opts.entities,
    migrations: opts.migrations,
    poolMax: opts.config.DB_POOL_MAX,
    log,
  });
  log.info({ url: opts.config.NATS_URL }, 'connecting to nats');
  const bus = await Bus.connect({ url: opts.config.NATS_URL, namespace: opts.config.NATS_NAMESPACE, name: opts.name, log });
  const relay = new OutboxRelay({ em: orm.em, schema: opts.schema, bus, log: log.child({ component: 'outbox' }) });
  relay.start();
  const deps: ServiceDeps = { orm, bus, relay, log, schema: opts.schema };
  const work = await opts.run(deps);

  const app = express();
  app.disable('x-powered-by');
  mountHealth(app, async () => ({ postgres: await orm.isConnected(), nats: !bus.nc.isClosed(), ...((await work.ready?.()) ?? {}) }));
  const server = http.createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.config.PORT, opts.config.HOST, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  log.info({ port }, `${opts.name} worker running; health on http://${opts.config.HOST}:${port}/healthz`);
  return {
    ...deps,
    port,
    stop: async () => {
      log.info('stopping');
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await work.stop();
      await relay.stop();
      await bus.close();
      await orm.close();
    },
  };
}
