// Two batchers (two withdrawal replicas: each its own ORM and pool) on one database racing over
// the same queued withdrawals: every withdrawal ends in exactly one batch, no batch is over the
// merchant's size, and each batch has exactly one withdrawal.batch.ready in the outbox listing
// exactly its withdrawals. The batcher claims rows with FOR UPDATE SKIP LOCKED and re-checks
// status = 'QUEUED' under the lock, in the transaction that writes the batch and its event.
// The reaper of the same loop (stale PROVISIONAL requests) likewise releases each one once.
import { randomUUID } from 'node:crypto';
import type { MikroORM } from '@cpg/core/db';
import { type ReplicaOrms, type TestEnv, createTestEnv, replicaOrms } from '@cpg/devkit/testing';
import { SCHEMA, migrations } from '../migrations';
import { batchOnce, reapProvisional } from '../src/services/batcher';

const PER_MERCHANT = 60;
const MAX_SIZE = 7;

let env: TestEnv;
let replicas: ReplicaOrms;
let orms: MikroORM[];
const sql: ReplicaOrms['sql'] = (query, params) => replicas.sql(query, params);

beforeAll(async () => {
  env = await createTestEnv();
  replicas = await replicaOrms(env, { schema: SCHEMA, migrations });
  orms = replicas.orms;
});

afterAll(async () => {
  await replicas?.close();
  await env?.cleanup();
});

it('two batchers put each queued withdrawal into exactly one batch, with one batch.ready each', async () => {
  // Two merchants batch (size 7, no wait), one pays each withdrawal alone.
  const merchants = [
    { id: randomUUID(), mode: 'BATCH' },
    { id: randomUUID(), mode: 'BATCH' },
    { id: randomUUID(), mode: 'NONE' },
  ];
  const all: string[] = [];
  for (const m of merchants) {
    await sql(
      `insert into ${SCHEMA}.merchant_settings (merchant_id, withdrawal_aggregation, batch_max_size, batch_max_wait_seconds, updated_at) values (?, ?, ?, 0, now())`,
      [m.id, m.mode, MAX_SIZE],
    );
    for (let i = 0; i < PER_MERCHANT; i++) {
      const id = randomUUID();
      all.push(id);
      await sql(
        `insert into ${SCHEMA}.withdrawals (id, merchant_id, coin_id, network_id, to_address, amount, idempotency_key, fingerprint, status, held, queued_at, created_at, updated_at)
         values (?, ?, 'dev-evm:ETH', 'dev-evm', ?, ?, ?, 'fp', 'QUEUED', true, now() - (? * interval '1 millisecond'), now(), now())`,
        [id, m.id, `0x${String(i).padStart(40, '0')}`, 1000 + i, `k-${id}`, PER_MERCHANT - i],
      );
    }
  }
  const batchUntilDone = async (orm: MikroORM) => {
    let made = 0;
    for (;;) {
      const n = await batchOnce(orm.em);
      if (!n) return made;
      made += n;
    }
  };
  const made = await Promise.all(orms.map(batchUntilDone));

  const rows = await sql<{ id: string; status: string; batch_id: string | null; merchant_id: string }>(
    `select id, status, batch_id, merchant_id from ${SCHEMA}.withdrawals where merchant_id = any(string_to_array(?, ',')::uuid[])`,
    [merchants.map((m) => m.id).join(',')],
  );
  expect(rows).toHaveLength(all.length);
  expect(rows.every((r) => r.status === 'BATCHED' && r.batch_id)).toBe(true);

  const ready = await sql<{ batch_id: string; items: { withdrawalId: string }[]; merchant_id: string }>(
    `select payload->>'batchId' as batch_id, payload->'items' as items, payload->>'merchantId' as merchant_id
       from ${SCHEMA}.outbox where type = 'withdrawal.batch.ready' and payload->>'merchantId' = any(string_to_array(?, ','))`,
    [merchants.map((m) => m.id).join(',')],
  );
  expect(ready.length).toBe(made[0]! + made[1]!);
  expect(new Set(ready.map((r) => r.batch_id)).size).toBe(ready.length);
  // Every withdrawal in exactly one batch.ready, and that batch is the one its row names.
  const listed = ready.flatMap((r) => r.items.map((i) => ({ w: i.withdrawalId, b: r.batch_id })));
  expect(listed).toHaveLength(all.length);
  expect(new Set(listed.map((l) => l.w)).size).toBe(all.length);
  const batchOf = new Map(rows.map((r) => [r.id, r.batch_id]));
  expect(listed.every((l) => batchOf.get(l.w) === l.b)).toBe(true);
  for (const r of ready) {
    const mode = merchants.find((m) => m.id === r.merchant_id)!.mode;
    expect(r.items.length).toBeLessThanOrEqual(mode === 'NONE' ? 1 : MAX_SIZE);
  }
  const [{ n }] = await sql<{ n: number }>(`select count(*)::int as n from ${SCHEMA}.batches where merchant_id = any(string_to_array(?, ',')::uuid[])`, [
    merchants.map((m) => m.id).join(','),
  ]);
  expect(n).toBe(ready.length);
});

it('two reapers delete each stale PROVISIONAL request once, with one ledger release each', async () => {
  const merchantId = randomUUID();
  const ids: string[] = [];
  for (let i = 0; i < 150; i++) {
    const id = randomUUID();
    ids.push(id);
    await sql(
      `insert into ${SCHEMA}.withdrawals (id, merchant_id, coin_id, network_id, to_address, amount, idempotency_key, fingerprint, status, created_at, updated_at)
       values (?, ?, 'dev-evm:ETH', 'dev-evm', '0x${'1'.repeat(40)}', ?, ?, 'fp', 'PROVISIONAL', now() - interval '1 hour', now())`,
      [id, merchantId, 500 + i, `k-${id}`],
    );
  }
  const reapUntilDone = async (orm: MikroORM) => {
    let reaped = 0;
    for (;;) {
      const n = await reapProvisional(orm.em, 60_000);
      if (!n) return reaped;
      reaped += n;
    }
  };
  const reaped = await Promise.all(orms.map(reapUntilDone));
  expect(reaped[0]! + reaped[1]!).toBe(ids.length);
  const [{ left }] = await sql<{ left: number }>(`select count(*)::int as left from ${SCHEMA}.withdrawals where merchant_id = ?`, [merchantId]);
  expect(left).toBe(0);
  const releases = await sql<{ withdrawal_id: string; action: string }>(
    `select payload->>'withdrawalId' as withdrawal_id, payload->>'action' as action from ${SCHEMA}.outbox where type = 'withdrawal.ledger' and payload->>'merchantId' = ?`,
    [merchantId],
  );
  expect(releases).toHaveLength(ids.length);
  expect(new Set(releases.map((r) => r.withdrawal_id))).toEqual(new Set(ids));
  expect(releases.every((r) => r.action === 'release')).toBe(true);
});
