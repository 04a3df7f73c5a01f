import type { ServiceDeps } from '@cpg/core/http';
import type { WithdrawalSnapshotReply } from '@cpg/core/webhooks';
import type { CoinCatalogue } from '../services/catalogue';
import { T, type WithdrawalRow, fmt } from '../services/rows';

/**
 * Serves `withdrawal.snapshot` to the merchant's webhook dispatcher: the withdrawal as the API
 * shows it (amounts as decimal strings). Scoped to the asking merchant, so a wrong id reveals nothing.
 */
export function serveWithdrawalSnapshot({ bus, orm }: Pick<ServiceDeps, 'bus' | 'orm'>, catalogue: CoinCatalogue): void {
  bus.reply('withdrawal.snapshot', async ({ withdrawalId, merchantId }): Promise<WithdrawalSnapshotReply> => {
    const [w] = await orm.em
      .fork()
      .execute<WithdrawalRow[]>(`select * from ${T}.withdrawals where id = ? and merchant_id = ? and status <> 'PROVISIONAL'`, [withdrawalId, merchantId]);
    if (!w) return { found: false };
    const decimals = (coinId: string) => {
      const entry = catalogue.coin(coinId);
      if (!entry) throw new Error(`coin ${coinId} is no longer configured`);
      return entry.coin.decimals;
    };
    const iso = (v: Date | string) => new Date(v).toISOString();
    return {
      found: true,
      withdrawal: {
        object: 'withdrawal',
        id: w.id,
        merchantId: w.merchant_id,
        idempotencyKey: w.idempotency_key,
        status: w.status,
        coinId: w.coin_id,
        networkId: w.network_id,
        toAddress: w.to_address,
        amount: fmt(w.amount, decimals(w.coin_id))!,
        fee: w.fee === null ? null : fmt(w.fee, decimals(w.fee_coin_id ?? w.coin_id)),
        feeCoinId: w.fee_coin_id,
        txHash: w.tx_hash,
        batchId: w.batch_id,
        paymentId: w.payment_id,
        failureReason: w.failure_reason,
        waitingReason: w.waiting_reason,
        createdAt: iso(w.created_at),
        updatedAt: iso(w.updated_at),
      },
    };
  });
}
