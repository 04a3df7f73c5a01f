import type { ServiceDeps } from '@cpg/core/http';
import { chargeWithdrawalFee, settleHold } from '../ledger/withdrawal-postings';
import { consumeIntoLedger } from './ledger-consumer';

/**
 * Posts the ledger effects the withdrawal subgraph reports through its outbox: `release` (the
 * hold goes back, or a tombstone stops a late hold) and `settle` (the amount leaves the hold to
 * the chain). A fee share, on settle or on a release after a mined but reverted transaction, is
 * charged to the native coin's available balance (chargeWithdrawalFee). The message marker makes
 * a redelivery a no-op and every posting has its own per-withdrawal key, so the same effect under
 * another message id is still posted once.
 */
export async function startWithdrawalLedgerConsumer(deps: ServiceDeps): Promise<void> {
  await consumeIntoLedger(deps, 'merchant-withdrawal-ledger', 'withdrawal.ledger', (d) => async (ledger) => {
    const base = { merchantId: d.merchantId, coinId: d.coinId, withdrawalId: d.withdrawalId };
    const amount = BigInt(d.amount);
    if (d.action === 'release') await ledger.releaseWithdrawal({ ...base, amount });
    else await ledger.post(settleHold({ ...base, held: amount, sent: amount, fee: 0n }));
    // Settled, or released after a transaction that was mined but reverted: its gas was spent.
    if (d.fee && d.feeCoinId && BigInt(d.fee) > 0n) {
      await ledger.post(chargeWithdrawalFee({ merchantId: d.merchantId, coinId: d.feeCoinId, withdrawalId: d.withdrawalId, fee: BigInt(d.fee) }));
    }
  });
}
