import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { EntitySchema } from '@mikro-orm/core';
import express from 'express';
import type { WorkerConfig } from '../config';
import type { MigrationDef } from '../db';
import { type Logger, createLogger } from '../logger';
import { type ServiceDeps, openServiceDeps } from './deps';
import { mountHealth } from './health';

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
  const { close, ready, ...deps } = await openServiceDeps({ ...opts, log });
  let work: Awaited<ReturnType<WorkerOptions['run']>>;
  try {
    work = await opts.run(deps);
  } catch (err) {
    await close().catch(() => undefined);
    throw err;
  }

  const app = express();
  app.disable('x-powered-by');
  mountHealth(app, async () => ({ ...(await ready()), ...((await work.ready?.()) ?? {}) }));
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
      await close();
    },
  };
}
