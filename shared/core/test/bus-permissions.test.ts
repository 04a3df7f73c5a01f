import { rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { JSONCodec, connect, type NatsConnection } from 'nats';
import { type EventType, SERVICE_NAMES, type ServiceName, askersOf, busRoles, eventSchemas, inboxPrefix, rpcSchemas, subjectPattern } from '../src/bus';
import { type NatsCredentials, type NatsServerHandle, generateCredentials, startNatsServer } from '@cpg/devkit/services';

/**
 * The permission table enforced by a real nats-server, as `npm start` runs it (one namespace,
 * generated config): every service may do what busRoles lists and nothing else. Generated from the
 * table itself, so a new event or RPC is covered the day it is added.
 */
const NS = `perm${randomBytes(3).toString('hex')}`;
const codec = JSONCodec();
let server: NatsServerHandle;
let credentials: NatsCredentials;
let storeDir: string;
const conns = new Map<string, NatsConnection>();

async function as(user: keyof NatsCredentials): Promise<NatsConnection> {
  let nc = conns.get(user);
  if (!nc) {
    nc = await connect({ servers: server.url, user, pass: credentials[user], inboxPrefix: inboxPrefix(user), timeout: 3000 });
    conns.set(user, nc);
  }
  return nc;
}

/** The concrete subject of an event type, as a producer would publish it. */
function eventSubjectOf(type: string): string {
  return `${NS}.evt.${subjectPattern(type).replace('*', 'dev-evm')}.k${randomBytes(3).toString('hex')}`;
}

async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'allowed';
  } catch (err) {
    const m = (err as Error).message;
    if (/Permissions Violation/i.test(m)) return 'refused';
    return `allowed (${m})`; // e.g. no responders: the server let the request through
  }
}

beforeAll(async () => {
  credentials = generateCredentials();
  storeDir = path.join(os.tmpdir(), `cpg-perm-${process.pid}-${randomBytes(3).toString('hex')}`);
  server = await startNatsServer({ storeDir, auth: { namespace: NS, credentials, bcryptCost: 4 } });
  // The event stream, made by the admin (every service may make only this one, by name).
  const admin = await as('admin');
  const jsm = await admin.jetstreamManager();
  await jsm.streams.add({ name: `${NS.toUpperCase()}_EVENTS`, subjects: [`${NS}.evt.>`] });
});

afterAll(async () => {
  for (const nc of conns.values()) await nc.close().catch(() => undefined);
  await server?.stop();
  rmSync(storeDir, { recursive: true, force: true });
});

test('a client without credentials, or with a wrong password, is refused', async () => {
  await expect(connect({ servers: server.url, timeout: 3000, reconnect: false })).rejects.toThrow(/Authorization/i);
  await expect(connect({ servers: server.url, user: 'tracker', pass: credentials.signer, timeout: 3000, reconnect: false })).rejects.toThrow(/Authorization/i);
});

describe.each(SERVICE_NAMES.map((s) => [s]))('%s', (service: ServiceName) => {
  const role = busRoles[service];

  test('publishes exactly the events it owns', async () => {
    const nc = await as(service);
    const js = nc.jetstream();
    const results: Record<string, string> = {};
    for (const type of Object.keys(eventSchemas) as EventType[]) {
      results[type] = await refusal(js.publish(eventSubjectOf(type), codec.encode({ id: randomUUID(), type, occurredAt: '', data: {} })));
    }
    for (const type of Object.keys(eventSchemas) as EventType[]) {
      expect([type, results[type]!.split(' ')[0]]).toEqual([type, role.publishes.includes(type) ? 'allowed' : 'refused']);
    }
  });

  test('asks exactly the RPCs it needs', async () => {
    const nc = await as(service);
    for (const name of Object.keys(rpcSchemas)) {
      const r = await refusal(nc.request(`${NS}.rpc.${name}`, codec.encode({}), { timeout: 500 }));
      expect([name, r.split(' ')[0]]).toEqual([name, (role.asks as string[]).includes(name) ? 'allowed' : 'refused']);
    }
  });

  test('answers only its own RPCs and reads no other inbox', async () => {
    const nc = await as(service);
    const refusedSub = (subject: string) =>
      new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), 400);
        nc.subscribe(subject, {
          callback: (err) => {
            if (err) {
              clearTimeout(timer);
              resolve(/Permissions Violation/i.test(err.message));
            }
          },
        });
      });
    for (const name of Object.keys(rpcSchemas)) {
      const refused = await refusedSub(`${NS}.rpc.${name}`);
      expect([name, refused]).toEqual([name, !(role.answers as string[]).includes(name)]);
    }
    const other = SERVICE_NAMES.find((s) => s !== service)!;
    expect(await refusedSub(`${inboxPrefix(other)}.>`)).toBe(true);
    expect(await refusedSub(`${NS}.evt.>`)).toBe(true);
  });
});

test('a service replies only into the inboxes of those who may ask it, never where a request says', async () => {
  const stream = `${NS.toUpperCase()}_EVENTS`;
  for (const service of SERVICE_NAMES) {
    const nc = await as(service);
    const askers = new Set<string>(askersOf(busRoles[service].answers as string[]));
    // A purge of the stream or a chain event "as a reply": refused for everyone.
    expect([service, await refusal(nc.request(`$JS.API.STREAM.PURGE.${stream}`, codec.encode({}), { timeout: 500 }))]).toEqual([service, 'refused']);
    for (const other of SERVICE_NAMES) {
      if (other === service) continue;
      // Core publish: a refusal arrives as an async error on the connection, so probe by request.
      const r = await refusal(nc.request(`${inboxPrefix(other)}.probe`, codec.encode({}), { timeout: 300 }));
      expect([service, other, r.split(' ')[0]]).toEqual([service, other, askers.has(other) ? 'allowed' : 'refused']);
    }
  }
});

test("a service cannot widen its consumer's filter or take another service's durable", async () => {
  const nc = await as('payment');
  const jsm = await nc.jetstreamManager();
  const stream = `${NS.toUpperCase()}_EVENTS`;
  // Its own consumer with its own filter works...
  await jsm.consumers.add(stream, { durable_name: 'payment-chain-transfers', filter_subject: `${NS}.evt.chain.*.transfer.>`, ack_policy: 'explicit' as never });
  // ...the same durable reading everything does not, nor the signer's durable.
  await expect(
    jsm.consumers.add(stream, { durable_name: 'payment-chain-transfers', filter_subject: `${NS}.evt.>`, ack_policy: 'explicit' as never }),
  ).rejects.toThrow(/Permissions Violation/);
  await expect(
    jsm.consumers.add(stream, {
      durable_name: 'signer-withdrawal-batches',
      filter_subject: `${NS}.evt.withdrawal.batch.ready.>`,
      ack_policy: 'explicit' as never,
    }),
  ).rejects.toThrow(/Permissions Violation/);
  await expect(jsm.streams.delete(stream)).rejects.toThrow(/Permissions Violation/);
});

test('the monitor user reads every subject and publishes nothing', async () => {
  const nc = await as('monitor');
  const seen: string[] = [];
  nc.subscribe('>', { callback: (_e, m) => seen.push(m.subject) });
  await nc.flush();
  const tracker = await as('tracker');
  const subject = eventSubjectOf('chain.transfer.seen');
  await tracker.jetstream().publish(subject, codec.encode({}));
  await tracker.flush();
  await new Promise((r) => setTimeout(r, 200));
  expect(seen).toContain(subject);
  expect(await refusal(nc.request(`${NS}.rpc.signer.collect_sign`, codec.encode({}), { timeout: 500 }))).toBe('refused');
});
