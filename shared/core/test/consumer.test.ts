import { randomUUID } from 'node:crypto';
import { JSONCodec } from 'nats';
import { Bus, type Envelope } from '../src/bus';
import { type MikroORM, applyOnce, openOrm } from '../src/db';
import { type TestEnv, createTestEnv, eventually } from '@cpg/devkit/testing';
import { counterSnapshot } from '../src/http/counters';

const SCHEMA = 'consumer_test';
const codec = JSONCodec();

let env: TestEnv;
let orm: MikroORM;
let bus: Bus;
const calls = new Map<string, number>();
const failOnce = new Set<string>();

async function effects(eventId: string): Promise<number> {
  const rows = await orm.em.fork().execute(`select count(*)::int as n from "${SCHEMA}".effects where event_id = ?`, [eventId]);
  return rows[0].n;
}

beforeAll(async () => {
  env = await createTestEnv();
  orm = await openOrm({ databaseUrl: env.databaseUrl, schema: SCHEMA, entities: [], migrations: [], log: env.log });
  await orm.em.getConnection().execute(`create table "${SCHEMA}".effects (id serial primary key, event_id text not null)`);
  bus = await Bus.connect({ url: env.natsUrl, namespace: env.namespace, name: 'consumer-test', log: env.log });
  await bus.consume({
    durable: 'effects',
    types: ['merchant.created', 'merchant.api_key_revoked'],
    retryBaseMs: 50,
    handler: async (event) => {
      calls.set(event.id, (calls.get(event.id) ?? 0) + 1);
      await applyOnce(orm.em, SCHEMA, 'effects', event.id, async (tx) => {
        await tx.execute(`insert into "${SCHEMA}".effects (event_id) values (?)`, [event.id]);
        if (failOnce.delete(event.id)) throw new Error('transient failure after the effect was written');
      });
    },
  });
});

afterAll(async () => {
  await bus?.close();
  await orm?.close();
  await env?.cleanup();
});

/** Publishes without a message id, so JetStream stores every copy (as a replay would). */
async function publishRaw(envelope: Envelope): Promise<void> {
  await bus.js.publish(bus.namespaced(`${envelope.type}.k`), codec.encode(envelope));
}

const created = (id: string): Envelope => ({
  id,
  type: 'merchant.created',
  occurredAt: new Date().toISOString(),
  data: { merchantId: randomUUID(), name: 'x' },
});

describe('durable consumers', () => {
  it('applies the effect of a message received twice only once', async () => {
    const envelope = created(randomUUID());
    await publishRaw(envelope);
    await publishRaw(envelope);
    await eventually(async () => calls.get(envelope.id) === 2, 'both deliveries');
    expect(await effects(envelope.id)).toBe(1);
  });

  it('retries after a transient failure, and the rolled-back effect is applied once', async () => {
    const envelope = created(randomUUID());
    failOnce.add(envelope.id);
    await publishRaw(envelope);
    await eventually(async () => (await effects(envelope.id)) === 1, 'the retried effect');
    expect(calls.get(envelope.id)).toBe(2);
  });

  it('terminates a poison message without calling the handler, and keeps consuming', async () => {
    const before = counterSnapshot()['consumer-test.bus.malformed'] ?? 0;
    const poison = { id: randomUUID(), type: 'merchant.created', occurredAt: new Date().toISOString(), data: { name: 42 } };
    await publishRaw(poison as Envelope);
    const next = created(randomUUID());
    await publishRaw(next);
    await eventually(async () => (await effects(next.id)) === 1, 'the message after the poison one');
    expect(calls.has(poison.id)).toBe(false);
    // Refused with a log line and a counter, never a crash.
    expect(counterSnapshot()['consumer-test.bus.malformed']).toBe(before + 1);
  });

  it('receives only the event types it asked for', async () => {
    const other = {
      id: randomUUID(),
      type: 'merchant.settings_updated',
      occurredAt: new Date().toISOString(),
      data: { merchantId: randomUUID(), settings: {} },
    };
    await publishRaw(other);
    const wanted = {
      id: randomUUID(),
      type: 'merchant.api_key_revoked',
      occurredAt: new Date().toISOString(),
      data: { merchantId: randomUUID(), keyId: randomUUID() },
    };
    await publishRaw(wanted);
    await eventually(async () => (await effects(wanted.id)) === 1, 'the wanted event');
    expect(calls.has(other.id)).toBe(false);
  });

  it('answers request-reply with validated bodies', async () => {
    bus.reply('merchant.verify_api_key', async ({ prefix }) =>
      prefix === 'goodgood' ? { ok: true, merchantId: randomUUID(), keyId: randomUUID(), scopes: ['READ'] } : { ok: false, reason: 'nope' },
    );
    const proof = 'ab'.repeat(32);
    expect(await bus.request('merchant.verify_api_key', { prefix: 'goodgood', proof })).toMatchObject({ ok: true, scopes: ['READ'] });
    expect(await bus.request('merchant.verify_api_key', { prefix: 'badbadba', proof })).toEqual({ ok: false, reason: 'nope' });
  });
});
