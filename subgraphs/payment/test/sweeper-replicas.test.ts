// Two expiry sweepers (two payment replicas: each its own ORM and pool) on one database racing
// over the same 130 expired payments: each payment expires once, with exactly one `payment.updated`
// (event expired, version 1) in the outbox, and the sweeps' counts add up to 130. The sweeper
// claims rows with FOR UPDATE SKIP LOCKED and re-checks the status under the lock, so a payment
// the other replica is expiring is skipped and, once committed EXPIRED, no longer matches.
import { randomUUID } from 'node:crypto';
import type { MikroORM } from '@cpg/core/db';
import { type ReplicaOrms, type TestEnv, createTestEnv, replicaOrms } from '@cpg/devkit/testing';
import { SCHEMA, migrations } from '../migrations';
import { sweepExpired } from '../src/services/sweeper';

const N = 130;

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

it('two sweepers expire each of 130 payments once: 130 EXPIRED, 130 expired events', async () => {
  const merchantId = randomUUID();
  const ids: string[] = [];
  for (let i = 0; i < N; i++) {
    const id = randomUUID();
    ids.push(id);
    await sql(
      `insert into ${SCHEMA}.payments (id, merchant_id, fingerprint, coin_id, network_id, address_id, address, amount, amount_due, tolerance, status,
         token_salt, checkout_token_hash, expires_at, created_at, updated_at)
       values (?, ?, ?, 'dev-evm:ETH', 'dev-evm', ?, ?, 1000, 1000, '0', ?, 'salt', ?, now() - interval '1 minute', now() - interval '1 hour', now())`,
      [id, merchantId, `fp-${id}`, randomUUID(), `0x${id.replace(/-/g, '').padEnd(40, '0')}`, i % 5 === 0 ? 'PARTIALLY_PAID' : 'PENDING', `hash-${id}`],
    );
  }
  // Each replica sweeps until a pass finds nothing, both at once.
  const sweep = async (orm: MikroORM) => {
    let total = 0;
    for (;;) {
      const n = await sweepExpired(orm.em);
      if (!n) return total;
      total += n;
    }
  };
  const counts = await Promise.all(orms.map(sweep));
  expect(counts[0]! + counts[1]!).toBe(N);

  const [{ expired }] = await sql<{ expired: number }>(`select count(*)::int as expired from ${SCHEMA}.payments where merchant_id = ? and status = 'EXPIRED'`, [
    merchantId,
  ]);
  expect(expired).toBe(N);
  const events = await sql<{ payment_id: string; event: string; version: number }>(
    `select payload->>'paymentId' as payment_id, payload->>'event' as event, (payload->>'version')::int as version
       from ${SCHEMA}.outbox where type = 'payment.updated' and payload->>'merchantId' = ?`,
    [merchantId],
  );
  expect(events).toHaveLength(N);
  expect(new Set(events.map((e) => e.payment_id)).size).toBe(N);
  expect(events.every((e) => e.event === 'expired' && e.version === 1)).toBe(true);
});
