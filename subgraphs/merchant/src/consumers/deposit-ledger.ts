import type { ServiceDeps } from '@cpg/core/http';
import { depositEffectPosting } from '../ledger/deposit-postings';
import { consumeIntoLedger } from './ledger-consumer';

/**
 * Posts each ledger effect of a deposit the payment subgraph tells (seen, credit, reversal and the
 * compliance decisions, in the place it says). The message marker makes a redelivery a no-op, and
 * every posting carries its own per-deposit key, so even the same effect arriving under another
 * message id (a replay after a reset) is posted once. A move its source cannot cover yet (an
 * effect redelivered ahead of the one it follows) is refused and retried by the bus.
 */
export async function startDepositLedgerConsumer(deps: Pick<ServiceDeps, 'bus' | 'orm'>): Promise<void> {
  await consumeIntoLedger(deps, 'merchant-deposit-ledger', 'payment.deposit_ledger', depositEffectPosting);
}
