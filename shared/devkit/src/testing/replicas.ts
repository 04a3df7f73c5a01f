import { type MikroORM, type OrmOptions, openOrm } from '@cpg/core/db';
import type { Logger } from '@cpg/core/logger';

/** Several replicas of one service on the test database: each its own ORM and pool, one schema. */
export interface ReplicaOrms {
  orms: MikroORM[];
  /** A query on the first replica's connection, for setting up and checking rows. */
  sql<T = Record<string, unknown>>(query: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

/** Opens `count` (default 2) ORMs on `schema`, migrated: what two processes of one service share. */
export async function replicaOrms(
  env: { databaseUrl: string; log: Logger },
  opts: Pick<OrmOptions, 'schema' | 'migrations'> & Partial<Pick<OrmOptions, 'entities' | 'poolMax'>> & { count?: number },
): Promise<ReplicaOrms> {
  const orms: MikroORM[] = [];
  for (let i = 0; i < (opts.count ?? 2); i++) {
    orms.push(
      await openOrm({
        databaseUrl: env.databaseUrl,
        schema: opts.schema,
        entities: opts.entities ?? [],
        migrations: opts.migrations,
        log: env.log,
        poolMax: opts.poolMax ?? 4,
      }),
    );
  }
  return {
    orms,
    sql: (query, params = []) => orms[0]!.em.fork().getConnection().execute(query, params),
    close: async () => {
      for (const orm of orms.splice(0)) await orm.close(true);
    },
  };
}
