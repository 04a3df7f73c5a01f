import { MikroORM, type EntitySchema, type Options } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import type { Logger } from '../logger';
import type { MigrationDef } from './migration-def';
import { sharedMigrations } from './shared-migrations';

export type { EntityManager } from '@mikro-orm/postgresql';

export type { MigrationDef };

export interface OrmOptions {
  databaseUrl: string;
  /** The subgraph's own Postgres schema; a service never reads or writes another's. */
  schema: string;
  entities: EntitySchema<any, any>[];
  migrations: MigrationDef[];
  poolMax?: number;
  log: Logger;
}

export function ormConfig(opts: OrmOptions): Options {
  return {
    clientUrl: opts.databaseUrl,
    schema: opts.schema,
    entities: opts.entities,
    extensions: [Migrator],
    pool: { min: 0, max: opts.poolMax ?? 10 },
    discovery: { warnWhenNoEntities: false },
    allowGlobalContext: false,
    forceUtcTimezone: true,
    // Our own log lines say what migrates; MikroORM's would go to stdout unstructured.
    logger: (message: string) => opts.log.debug({ orm: message }),
    migrations: {
      silent: true,
      // Migrations are hand-written SQL; schema snapshots would only litter the source tree.
      snapshot: false,
      tableName: 'mikro_orm_migrations',
      transactional: true,
      allOrNothing: true,
      migrationsList: [...sharedMigrations(opts.schema), ...opts.migrations],
    },
  };
}

/**
 * Opens the ORM for one subgraph and applies its pending migrations before anything else runs,
 * so a process never serves requests against an older schema than its code expects.
 */
export async function openOrm(opts: OrmOptions): Promise<MikroORM> {
  const orm = await MikroORM.init(ormConfig(opts));
  try {
    // Replicas start together (compose, a rolling deploy): one migrates, the others wait for it
    // and then find nothing pending, instead of racing to create the same tables.
    await underMigrationLock(orm, opts.schema, async () => {
      await orm.em.getConnection().execute(`create schema if not exists "${opts.schema}"`);
      const migrator = orm.getMigrator();
      const pending = await migrator.getPendingMigrations();
      if (pending.length) {
        opts.log.info({ schema: opts.schema, pending: pending.map((m) => m.name) }, `applying ${pending.length} migration(s)`);
        await migrator.up();
        opts.log.info({ schema: opts.schema }, 'migrations applied');
      }
    });
  } catch (err) {
    await orm.close().catch(() => undefined);
    throw err;
  }
  return orm;
}

/**
 * Runs `fn` holding a session advisory lock named after the schema, on a connection of its own:
 * the lock goes with that session, so a process that dies mid-migration releases it (and its
 * transactional migration rolls back).
 */
async function underMigrationLock(orm: MikroORM, schema: string, fn: () => Promise<void>): Promise<void> {
  // A raw connection outside the pool: a pool of one would otherwise wait on itself.
  const client = orm.em.getConnection().getKnex().client as {
    acquireRawConnection(): Promise<{ query(sql: string, params: unknown[]): Promise<unknown> }>;
    destroyRawConnection(conn: unknown): Promise<void>;
  };
  const conn = await client.acquireRawConnection();
  try {
    await conn.query('select pg_advisory_lock(hashtext($1))', [`cpg:migrate:${schema}`]);
    await fn();
  } finally {
    await client.destroyRawConnection(conn).catch(() => undefined);
  }
}

export { MikroORM };
