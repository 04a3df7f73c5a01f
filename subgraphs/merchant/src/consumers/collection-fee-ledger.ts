import type { ServiceDeps } from '@cpg/core/http';
import { chargeCollectionFee } from '../ledger/collection-postings';
import { consumeIntoLedger } from './ledger-consumer';

/**
 * Charges the network fee of each collector step (sweep, gas top-up, cold forward) that is final
 * on chain (`collection.fee`, published by the collector through its outbox) to the merchant's
 * native-coin balance (chargeCollectionFee: available -> external_fees, a shortfall becomes debt).
 * The message marker makes a redelivery a no-op and the posting's key is per step, so the same
 * fee under another message id is still charged once.
 */
export async function startCollectionFeeLedgerConsumer(deps: ServiceDeps): Promise<void> {
  await consumeIntoLedger(deps, 'merchant-collection-fee-ledger', 'collection.fee', (d) => {
    const fee = BigInt(d.fee);
    return fee > 0n ? chargeCollectionFee({ merchantId: d.merchantId, coinId: d.feeCoinId, stepId: d.stepId, fee }) : null;
  });
}
