import type { ServiceDeps } from '@cpg/core/http';
import { coldForward } from '../ledger/collection-postings';
import { consumeIntoLedger } from './ledger-consumer';

/**
 * Moves each confirmed cold forward (a collector step to the merchant's COLD wallet, reported by
 * `collection.sweep_updated`) from available to custody: the money left the hot side, so no
 * withdrawal may be held against it. Other kinds and statuses are ignored (sweeps and top-ups stay
 * between the merchant's own hot-side addresses). The posting's key is per step, so a replay under
 * another message id posts nothing new.
 */
export async function startColdForwardLedgerConsumer(deps: ServiceDeps): Promise<void> {
  await consumeIntoLedger(deps, 'merchant-cold-forward-ledger', 'collection.sweep_updated', (d) => {
    if (d.kind !== 'cold_forward' || d.status !== 'CONFIRMED') return null;
    const amount = BigInt(d.amount);
    return amount > 0n ? coldForward({ merchantId: d.merchantId, coinId: d.coinId, stepId: d.sweepId, amount }) : null;
  });
}
