// Two webhook dispatchers (two merchant replicas: each its own ORM and connection pool) on one
// database, sending to a local HTTP receiver: every delivery is POSTed once when the receiver
// answers 200, and when it fails the first attempt, each attempt number is POSTed by exactly one
// replica (attempt 1 once, attempt 2 once), never by both. Each replica's sends are counted through
// its own resolver, so the test also shows both did share the work.
import { randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { type MikroORM, openOrm } from '@cpg/core/db';
import type { MerchantIdentity } from '@cpg/core/graphql';
import { WEBHOOK_ID_HEADER } from '@cpg/core/webhooks';
import { type TestEnv, createTestEnv, eventually } from '@cpg/devkit/testing';
import { SCHEMA, migrations } from '../migrations';
import { entities } from '../src/entities';
import { MerchantService } from '../src/services/merchants';
import { SecretBox, WebhookDispatcher, WebhookService, loadWebhookConfig } from '../src/webhooks';
import type { Resolver } from '../src/webhooks/ssrf';

jest.setTimeout(90_000);

const config = loadWebhookConfig(
  {
    WEBHOOK_POLL_MS: '20',
    WEBHOOK_RETRY_SCHEDULE_MS: '100,100,100',
    WEBHOOK_RETRY_JITTER: '0',
    WEBHOOK_MAX_IN_FLIGHT: '16',
    WEBHOOK_CONCURRENCY_PER_ENDPOINT: '8',
  },
  'test',
);
const box = new SecretBox(randomBytes(32).toString('hex'));

let env: TestEnv;
let orms: MikroORM[] = [];
let server: http.Server;
let port = 0;
/** Every POST the receiver got: the delivery's event id and what it answered. */
const received: { eventId: string; status: number }[] = [];
/** Event ids whose first POST the receiver answers 500. */
const failFirst = new Set<string>();

/** A resolver per replica: counts that replica's sends, points every name at the receiver. */
function countingResolver(counter: { n: number }): Resolver {
  return async () => {
    counter.n++;
    return [{ address: '127.0.0.1', family: 4 }];
  };
}

async function sql<T = Record<string, unknown>>(query: string, params: unknown[] = []): Promise<T[]> {
  return orms[0]!.em.fork().getConnection().execute(query, params);
}

/** `perMerchant` deliveries for each of `merchants` merchants (one endpoint each), all due now. */
async function seed(merchants: number, perMerchant: number, tag: string): Promise<string[]> {
  const ids: string[] = [];
  for (let m = 0; m < merchants; m++) {
    const { merchant } = await new MerchantService(orms[0]!.em.fork()).createMerchant(`hooks-${tag}-${m}`);
    const caller = { kind: 'merchant', merchantId: merchant.id, scopes: ['READ', 'WRITE'] } as unknown as MerchantIdentity;
    const service = new WebhookService(orms[0]!.em.fork(), { config, box, onDeliveriesCreated: () => undefined, resolve: countingResolver({ n: 0 }) });
    const { endpoint } = await service.create(caller, { url: `http://hooks-${tag}-${m}.test:${port}/hook` });
    for (let i = 0; i < perMerchant; i++) {
      const eventId = randomUUID();
      ids.push(eventId);
      await sql(
        `insert into ${SCHEMA}.webhook_deliveries (id, endpoint_id, merchant_id, event_id, event_type, source_message_id, body, next_attempt_at)
         values (?, ?, ?, ?, 'payment.updated', ?, ?, now())`,
        [randomUUID(), endpoint.id, merchant.id, eventId, randomUUID(), JSON.stringify({ id: eventId, type: 'payment.updated', data: { n: i } })],
      );
    }
  }
  return ids;
}

async function runTwo<T>(work: (counters: { n: number }[]) => Promise<T>): Promise<T> {
  const counters = [{ n: 0 }, { n: 0 }];
  const dispatchers = orms.map(
    (orm, i) => new WebhookDispatcher({ orm, log: env.log.child({ replica: i }), config, box, resolve: countingResolver(counters[i]!) }),
  );
  for (const d of dispatchers) d.start();
  try {
    return await work(counters);
  } finally {
    for (const d of dispatchers) await d.stop();
  }
}

const postsOf = (ids: string[]) => {
  const wanted = new Set(ids);
  const byId = new Map<string, number>();
  for (const r of received) if (wanted.has(r.eventId)) byId.set(r.eventId, (byId.get(r.eventId) ?? 0) + 1);
  return byId;
};

beforeAll(async () => {
  env = await createTestEnv();
  // Two replicas: two ORMs, two pools, as two merchant subgraph processes would have.
  for (let i = 0; i < 2; i++) orms.push(await openOrm({ databaseUrl: env.databaseUrl, schema: SCHEMA, entities, migrations, log: env.log, poolMax: 6 }));
  server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const eventId = String(req.headers[WEBHOOK_ID_HEADER.toLowerCase()] ?? '');
      const status = failFirst.delete(eventId) ? 500 : 200;
      received.push({ eventId, status });
      // A little latency, so both replicas have sends in flight at the same time.
      setTimeout(() => {
        res.statusCode = status;
        res.end('ok');
      }, 5);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise<void>((r) => {
    server?.close(() => r());
    server?.closeAllConnections();
  });
  for (const orm of orms) await orm.close(true);
  orms = [];
  await env?.cleanup();
});

describe('two webhook dispatchers on one database', () => {
  it('deliver each of 240 webhooks exactly once, both replicas sending', async () => {
    const ids = await seed(4, 60, 'once');
    await runTwo(async (counters) => {
      await eventually(
        async () => {
          const [{ n }] = await sql<{ n: number }>(
            `select count(*)::int as n from ${SCHEMA}.webhook_deliveries where event_id = any(string_to_array(?, ',')::uuid[]) and status = 'DELIVERED'`,
            [ids.join(',')],
          );
          return n === ids.length || undefined;
        },
        'every delivery DELIVERED',
        60_000,
        50,
      );
      const posts = postsOf(ids);
      expect(posts.size).toBe(ids.length);
      expect([...posts.values()].every((n) => n === 1)).toBe(true);
      expect(counters[0]!.n + counters[1]!.n).toBe(ids.length);
      expect(counters[0]!.n).toBeGreaterThan(0);
      expect(counters[1]!.n).toBeGreaterThan(0);
    });
    const attempts = await sql<{ n: number; deliveries: number; max: number }>(
      `select count(*)::int as n, count(distinct a.delivery_id)::int as deliveries, max(a.attempt)::int as max
         from ${SCHEMA}.webhook_attempts a join ${SCHEMA}.webhook_deliveries d on d.id = a.delivery_id
        where d.event_id = any(string_to_array(?, ',')::uuid[])`,
      [ids.join(',')],
    );
    expect(attempts[0]).toEqual({ n: ids.length, deliveries: ids.length, max: 1 });
  });

  it('a failed first attempt is retried once: each attempt POSTed by one replica only', async () => {
    const ids = await seed(2, 50, 'retry');
    for (const id of ids) failFirst.add(id);
    await runTwo(async () => {
      await eventually(
        async () => {
          const [{ n }] = await sql<{ n: number }>(
            `select count(*)::int as n from ${SCHEMA}.webhook_deliveries where event_id = any(string_to_array(?, ',')::uuid[]) and status = 'DELIVERED'`,
            [ids.join(',')],
          );
          return n === ids.length || undefined;
        },
        'every delivery DELIVERED after its retry',
        60_000,
        50,
      );
    });
    const posts = postsOf(ids);
    expect([...posts.values()].every((n) => n === 2)).toBe(true);
    expect(posts.size).toBe(ids.length);
    const rows = await sql<{ attempts: number; tries: string }>(
      `select d.attempts, string_agg(a.attempt::text || ':' || coalesce(a.status_code::text, '-'), ',' order by a.attempt) as tries
         from ${SCHEMA}.webhook_deliveries d join ${SCHEMA}.webhook_attempts a on a.delivery_id = d.id
        where d.event_id = any(string_to_array(?, ',')::uuid[]) group by d.id, d.attempts`,
      [ids.join(',')],
    );
    expect(rows).toHaveLength(ids.length);
    expect(rows.every((r) => r.attempts === 2 && r.tries === '1:500,2:200')).toBe(true);
  });
});
