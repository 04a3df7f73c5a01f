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
}

/**
 * What a worker's `run` returns once its loops and handlers are started: how to stop them,
 * optionally extra readiness checks (e.g. "chain answers"), and what the worker hands its caller
 * (X: e.g. the collector itself, for tests and the process entry).
 */
export type WorkerWork<X extends object> = X & { stop(): Promise<void>; ready?: () => Promise<Record<string, boolean>> };

export interface RunningWorker extends ServiceDeps {
  port: number;
  stop(): Promise<void>;
}

/**
 * Start-up of a worker process: database (migrations) -> bus -> outbox relay -> `run` (the
 * worker's own work) -> health port.
 */
export async function startWorkerService<X extends object = object>(
  opts: WorkerOptions,
  run: (deps: ServiceDeps) => Promise<WorkerWork<X>>,
): Promise<RunningWorker & X> {
  const log = opts.log ?? createLogger(opts.name, opts.config.LOG_LEVEL);
  const { close, ready, ...deps } = await openServiceDeps({ ...opts, log });
  let work: WorkerWork<X>;
  try {
    work = await run(deps);
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
  // What the work hands on is X less its stop and ready: the worker's stop takes their place.
  const { stop: _stop, ready: _ready, ...handed } = work;
  return {
    ...deps,
    ...(handed as X),
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
