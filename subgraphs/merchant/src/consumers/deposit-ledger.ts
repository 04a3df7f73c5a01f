import type { ServiceDeps } from '@cpg/core/http';
import { applyOnce } from '@cpg/core/db';
import { SCHEMA } from '../../migrations';
import { LedgerService } from '../ledger/ledger-service';
import { depositEffectPosting } from '../ledger/deposit-postings';

const CONSUMER = 'merchant-deposit-ledger';

/**
 * Posts each ledger effect of a deposit the payment subgraph tells (seen, credit, reversal and the
 * compliance decisions, in the place it says). The message marker makes a redelivery a no-op, and
 * every posting carries its own per-deposit key, so even the same effect arriving under another
 * message id (a replay after a reset) is posted once. A move its source cannot cover yet (an
 * effect redelivered ahead of the one it follows) is refused and retried by the bus.
 */
export async function startDepositLedgerConsumer({ bus, orm }: Pick<ServiceDeps, 'bus' | 'orm'>): Promise<void> {
  await bus.consume({
    durable: CONSUMER,
    types: ['payment.deposit_ledger'],
    handler: async (event) => {
      const posting = depositEffectPosting(event.data);
      await applyOnce(orm.em.fork(), SCHEMA, CONSUMER, event.id, async (tx) => {
        await new LedgerService(tx).post(posting);
      });
    },
  });
}
