import type { EntityManager } from '@cpg/core/db';
import type { Logger } from '@cpg/core/logger';
import { depositsOf, lockExpired } from './payment-store';
import { reduceAndStore } from './rows';

const BATCH = 50;

/**
 * Expires payments whose time ran out with too little received. SKIP LOCKED lets replicas share
 * the work and never waits on a payment a deposit is being applied to (it is picked up next tick).
 */
export async function sweepExpired(em: EntityManager, now = new Date()): Promise<number> {
  return em.fork().transactional(async (tx) => {
    const rows = await lockExpired(tx, now, BATCH);
    for (const row of rows) await reduceAndStore(tx, row, await depositsOf(tx, row.id), undefined, now);
    return rows.length;
  });
}

export function startSweeper(em: EntityManager, intervalMs: number, onCommitted: () => void, log: Logger): { stop(): Promise<void> } {
  let running: Promise<void> | null = null;
  let stopped = false;
  const timer = setInterval(() => {
    if (running || stopped) return;
    running = sweepExpired(em)
      .then((n) => {
        if (n > 0) onCommitted();
      })
      .catch((err) => log.warn({ err: (err as Error).message }, 'expiry sweep failed; will retry'))
      .finally(() => {
        running = null;
      });
  }, intervalMs);
  timer.unref();
  return {
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
