import type { EntityManager } from '@cpg/core/db';
import type { Logger } from '@cpg/core/logger';
import { aggregationForFamily, cutBatch } from '../domain/batching';
import type { CoinCatalogue } from './catalogue';
import { emitLedger } from './withdrawal-events';
import { T, type WithdrawalRow, aggregationOf, createBatch } from './withdrawal-store';

interface Group {
  merchant_id: string;
  coin_id: string;
  n: number;
  oldest: Date;
}

/**
 * One pass: every group of QUEUED withdrawals (merchant, coin; a coin names its network) whose
 * batch is due per the merchant's aggregation settings becomes a batch. Rows are taken with
 * SKIP LOCKED, so several replicas share the work and a withdrawal being cancelled is left to
 * the cancel (which then wins); a withdrawal the batcher locked first cannot be cancelled any
 * more. Returns how many batches it made.
 */
export async function batchOnce(em: EntityManager, now = new Date(), catalogue?: CoinCatalogue): Promise<number> {
  const groups = await em
    .fork()
    .execute<Group[]>(
      `select merchant_id, coin_id, count(*)::int as n, min(queued_at) as oldest from ${T}.withdrawals where status = 'QUEUED' group by merchant_id, coin_id`,
    );
  let made = 0;
  for (const g of groups) {
    const settings = aggregationForFamily(await aggregationOf(em.fork(), g.merchant_id), catalogue?.coin(g.coin_id)?.network.family);
    if (!cutBatch(settings, { count: g.n, oldestQueuedAt: new Date(g.oldest) }, now)) continue;
    made += await em.fork().transactional(async (tx) => {
      const take = settings.mode === 'NONE' ? g.n : Math.max(1, settings.maxSize);
      const rows = await tx.execute<WithdrawalRow[]>(
        `select * from ${T}.withdrawals where status = 'QUEUED' and merchant_id = ? and coin_id = ? order by queued_at, id limit ? for update skip locked`,
        [g.merchant_id, g.coin_id, take],
      );
      if (!rows.length) return 0;
      if (settings.mode === 'NONE') {
        for (const r of rows) await createBatch(tx, [r], now);
        return rows.length;
      }
      const cut = cutBatch(settings, { count: rows.length, oldestQueuedAt: new Date(rows[0]!.queued_at!) }, now);
      if (!cut) return 0;
      await createBatch(tx, rows.slice(0, cut), now);
      return 1;
    });
  }
  return made;
}

/**
 * Compensates requests that died between storing their PROVISIONAL row and its outcome (a crash,
 * a restart): rows older than `olderThanMs` (well past the screening and hold timeouts) are
 * deleted with a release, exactly as the request itself would have done; the ledger returns a
 * hold that was taken or leaves a tombstone that refuses a late one. Returns how many it reaped.
 */
export async function reapProvisional(em: EntityManager, olderThanMs: number, now = new Date()): Promise<number> {
  return em.fork().transactional(async (tx) => {
    const rows = await tx.execute<WithdrawalRow[]>(
      `delete from ${T}.withdrawals where id in (
         select id from ${T}.withdrawals where status = 'PROVISIONAL' and created_at < ? order by created_at limit 100 for update skip locked
       ) returning *`,
      [new Date(now.getTime() - olderThanMs)],
    );
    for (const r of rows) await emitLedger(tx, r, 'release');
    return rows.length;
  });
}

/** The batcher loop: every interval, and at once when kicked (a withdrawal was queued). */
export function startBatcher(em: EntityManager, intervalMs: number, onCommitted: () => void, log: Logger, reapAfterMs = 5 * 60_000, catalogue?: CoinCatalogue) {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | null = null;
  let again = false;
  let stopped = false;
  const schedule = (ms: number) => {
    if (stopped) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => void tick(), ms);
  };
  const tick = async () => {
    if (running) {
      again = true;
      return;
    }
    running = (async () => {
      try {
        if ((await batchOnce(em, new Date(), catalogue)) > 0) onCommitted();
        const reaped = await reapProvisional(em, reapAfterMs);
        if (reaped > 0) {
          log.warn({ reaped }, 'released withdrawals whose request never completed');
          onCommitted();
        }
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'batcher pass failed; will retry');
      }
    })();
    await running;
    running = null;
    if (again) {
      again = false;
      schedule(0);
    } else schedule(intervalMs);
  };
  schedule(0);
  return {
    kick: () => schedule(0),
    stop: async () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
