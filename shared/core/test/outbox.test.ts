import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Bus } from '../src/bus';
import { type MikroORM, OutboxRelay, openOrm, writeOutbox } from '../src/db';
import { startNatsServer, type NatsServerHandle } from '@cpg/devkit/services';
import { type TestEnv, createTestEnv, eventually } from '@cpg/devkit/testing';

const SCHEMA = 'outbox_test';

let env: TestEnv;
let nats: NatsServerHandle;
let storeDir: string;
let orm: MikroORM;
let bus: Bus;
let relay: OutboxRelay;
const received: string[] = [];

beforeAll(async () => {
  env = await createTestEnv();
  storeDir = mkdtempSync(path.join(tmpdir(), 'cpg-outbox-nats-'));
  // Our own nats-server, which this test stops and starts; the machine's is never touched.
  nats = await startNatsServer({ port: 0, storeDir });
  orm = await openOrm({ databaseUrl: env.databaseUrl, schema: SCHEMA, entities: [], migrations: [], log: env.log });
  bus = await Bus.connect({ url: nats.url, namespace: env.namespace, name: 'outbox-test', log: env.log });
  relay = new OutboxRelay({ em: orm.em, schema: SCHEMA, bus, log: env.log, intervalMs: 50 });
  relay.start();
  await bus.consume({
    durable: 'outbox-test',
    types: ['merchant.created'],
    handler: async (event) => {
      received.push(event.id);
    },
  });
});

afterAll(async () => {
  await relay?.stop();
  await bus?.close().catch(() => undefined);
  await nats?.stop();
  await orm?.close();
  await env?.cleanup().catch(() => undefined);
  rmSync(storeDir, { recursive: true, force: true });
});

async function writeEvent(name: string): Promise<string> {
  return orm.em.fork().transactional((tx) => writeOutbox(tx, SCHEMA, 'merchant.created', { merchantId: randomUUID(), name }, { key: 'k1' }));
}

async function publishedAt(id: string): Promise<Date | null> {
  const rows = await orm.em.fork().execute(`select published_at from "${SCHEMA}".outbox where id = ?`, [id]);
  return rows[0].published_at;
}

describe('transactional outbox', () => {
  it('publishes a committed event with its row id as the message id', async () => {
    const id = await writeEvent('first');
    await eventually(async () => received.includes(id), 'first event to arrive');
    await eventually(async () => (await publishedAt(id)) !== null, 'the row to be marked published');
  });

  it('keeps an event written while NATS is down and delivers it exactly once when NATS is back', async () => {
    await nats.stop();
    const id = await writeEvent('during outage');
    // The relay keeps trying and failing; the row waits, unpublished.
    await new Promise((r) => setTimeout(r, 1500));
    expect(await publishedAt(id)).toBeNull();
    expect(received).not.toContain(id);

    await nats.start();
    await eventually(async () => received.includes(id), 'the outage event after NATS restarted', 45_000);
    await eventually(async () => (await publishedAt(id)) !== null, 'the row to be marked published');
    // Settle, then check it arrived once and is stored once.
    await new Promise((r) => setTimeout(r, 1000));
    expect(received.filter((r) => r === id)).toHaveLength(1);
    const info = await bus.jsm.streams.info(bus.streamName);
    expect(info.state.messages).toBe(2);
  });

  it('a publish repeated after a lost acknowledgement is dropped by JetStream (same message id)', async () => {
    const id = await writeEvent('repeat');
    await eventually(async () => received.includes(id), 'the event');
    // Simulate a relay that published but crashed before marking the row: publish the row again.
    await orm.em.fork().execute(`update "${SCHEMA}".outbox set published_at = null where id = ?`, [id]);
    await eventually(async () => (await publishedAt(id)) !== null, 'the relay to republish');
    await new Promise((r) => setTimeout(r, 500));
    expect(received.filter((r) => r === id)).toHaveLength(1);
  });
});
