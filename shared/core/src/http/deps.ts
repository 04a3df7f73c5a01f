import type { EntitySchema } from '@mikro-orm/core';
import type { WorkerConfig } from '../config';
import { type MigrationDef, type MikroORM, OutboxRelay, openOrm } from '../db';
import { Bus, natsUrlParts } from '../bus';
import type { Logger } from '../logger';

export interface ServiceDeps {
  orm: MikroORM;
  bus: Bus;
  relay: OutboxRelay;
  log: Logger;
  /** The service's Postgres schema name. */
  schema: string;
}

/**
 * The start-up every process shares: database (migrations applied) -> bus -> outbox relay, each
 * step logged so a stuck start says where. Undoes what it opened when a later step fails.
 */
export async function openServiceDeps(opts: {
  name: string;
  schema: string;
  entities: EntitySchema<any, any>[];
  migrations: MigrationDef[];
  config: WorkerConfig;
  log: Logger;
}): Promise<ServiceDeps & { close(): Promise<void>; ready(): Promise<Record<string, boolean>> }> {
  const { config, log } = opts;
  log.info('connecting to postgres and applying migrations');
  const orm = await openOrm({
    databaseUrl: config.DATABASE_URL,
    schema: opts.schema,
    entities: opts.entities,
    migrations: opts.migrations,
    poolMax: config.DB_POOL_MAX,
    log,
  });
  let bus: Bus;
  try {
    log.info({ url: natsUrlParts(config.NATS_URL).server, user: config.NATS_USER ?? natsUrlParts(config.NATS_URL).user }, 'connecting to nats');
    bus = await Bus.connect({
      url: config.NATS_URL,
      namespace: config.NATS_NAMESPACE,
      name: opts.name,
      log,
      user: config.NATS_USER,
      pass: config.NATS_PASSWORD,
      replicas: config.NATS_REPLICAS,
    });
  } catch (err) {
    await orm.close().catch(() => undefined);
    throw err;
  }
  const relay = new OutboxRelay({ em: orm.em, schema: opts.schema, bus, log: log.child({ component: 'outbox' }) });
  relay.start();
  return {
    orm,
    bus,
    relay,
    log,
    schema: opts.schema,
    ready: async () => ({ postgres: await orm.isConnected(), nats: !bus.nc.isClosed() }),
    close: async () => {
      await relay.stop();
      await bus.close();
      await orm.close();
    },
  };
}
