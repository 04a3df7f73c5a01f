import type { ServiceDeps } from '@cpg/core/http';
import { applyOnce } from '@cpg/core/db';
import { SCHEMA } from '../../migrations';
import { LedgerService } from '../ledger/ledger-service';
import { coldForward } from '../ledger/collection-postings';

const CONSUMER = 'merchant-cold-forward-ledger';

/**
 * Moves each confirmed cold forward (a collector step to the merchant's COLD wallet, reported by
 * `collection.sweep_updated`) from available to custody: the money left the hot side, so no
 * withdrawal may be held against it. Other kinds and statuses are ignored (sweeps and top-ups stay
 * between the merchant's own hot-side addresses). The posting's key is per step, so a replay under
 * another message id posts nothing new.
 */
export async function startColdForwardLedgerConsumer({ bus, orm }: ServiceDeps): Promise<void> {
  await bus.consume({
    durable: CONSUMER,
    types: ['collection.sweep_updated'],
    handler: async (event) => {
      const d = event.data;
      if (d.kind !== 'cold_forward' || d.status !== 'CONFIRMED') return;
      const amount = BigInt(d.amount);
      if (amount <= 0n) return;
      await applyOnce(orm.em.fork(), SCHEMA, CONSUMER, event.id, async (tx) => {
        await new LedgerService(tx).post(coldForward({ merchantId: d.merchantId, coinId: d.coinId, stepId: d.sweepId, amount }));
      });
    },
  });
}
