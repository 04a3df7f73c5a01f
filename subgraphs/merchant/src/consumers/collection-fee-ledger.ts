import type { ServiceDeps } from '@cpg/core/http';
import { applyOnce } from '@cpg/core/db';
import { SCHEMA } from '../../migrations';
import { LedgerService } from '../ledger/ledger-service';
import { chargeCollectionFee } from '../ledger/collection-postings';

const CONSUMER = 'merchant-collection-fee-ledger';

/**
 * Charges the network fee of each collector step (sweep, gas top-up, cold forward) that is final
 * on chain (`collection.fee`, published by the collector through its outbox) to the merchant's
 * native-coin balance (chargeCollectionFee: available -> external_fees, a shortfall becomes debt).
 * The message marker makes a redelivery a no-op and the posting's key is per step, so the same
 * fee under another message id is still charged once.
 */
export async function startCollectionFeeLedgerConsumer({ bus, orm }: ServiceDeps): Promise<void> {
  await bus.consume({
    durable: CONSUMER,
    types: ['collection.fee'],
    handler: async (event) => {
      const d = event.data;
      const fee = BigInt(d.fee);
      if (fee <= 0n) return;
      await applyOnce(orm.em.fork(), SCHEMA, CONSUMER, event.id, async (tx) => {
        await new LedgerService(tx).post(chargeCollectionFee({ merchantId: d.merchantId, coinId: d.feeCoinId, stepId: d.stepId, fee }));
      });
    },
  });
}
