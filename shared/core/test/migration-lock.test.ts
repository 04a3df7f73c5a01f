import { Migration, openOrm, type MikroORM } from '../src/db';
import { type TestEnv, createTestEnv } from '@cpg/devkit/testing';

// Replicas of one service start together (compose, a rolling deploy) and each migrates its
// schema at start: only one may run the migrations, the others must find nothing left to do.
const SCHEMA = 'migration_lock_test';

class SlowTable extends Migration {
  override async up(): Promise<void> {
    // Long enough that unserialised replicas would both be inside it (no IF NOT EXISTS on purpose).
    this.addSql('select pg_sleep(0.5)');
    this.addSql(`create table "${SCHEMA}".things (id int primary key)`);
  }
}

let env: TestEnv;
const orms: MikroORM[] = [];

beforeAll(async () => {
  env = await createTestEnv();
});

afterAll(async () => {
  await Promise.all(orms.map((o) => o.close()));
  await env.cleanup();
});

it('three replicas opening one fresh schema together: all start, the migration ran once', async () => {
  const opened = await Promise.all(
    [1, 2, 3].map(() =>
      openOrm({ databaseUrl: env.databaseUrl, schema: SCHEMA, entities: [], migrations: [{ name: '0001_slow', class: SlowTable }], poolMax: 1, log: env.log }),
    ),
  );
  orms.push(...opened);
  const rows = await opened[0]!.em.getConnection().execute(`select count(*)::int as n from "${SCHEMA}".mikro_orm_migrations where name = '0001_slow'`);
  expect(rows[0].n).toBe(1);
  await opened[2]!.em.getConnection().execute(`insert into "${SCHEMA}".things (id) values (1)`);
});
