import type { ServiceDeps } from '@cpg/core/http';
import type { PaymentSnapshotReply } from '@cpg/core/webhooks';
import type { CoinCatalogue } from '../services/catalogue';
import { depositsOf, merchantPayment } from '../services/payment-store';
import { fmt } from '../services/rows';

/**
 * Serves `payment.snapshot` to the merchant's webhook dispatcher: the payment as the API shows it
 * (amounts as decimal strings). Scoped to the asking merchant, so a wrong id reveals nothing.
 */
export function servePaymentSnapshot({ bus, orm }: ServiceDeps, catalogue: CoinCatalogue): void {
  bus.reply('payment.snapshot', async ({ paymentId, merchantId }): Promise<PaymentSnapshotReply> => {
    const em = orm.em.fork();
    const p = await merchantPayment(em, paymentId, merchantId);
    if (!p) return { found: false };
    const entry = catalogue.coin(p.coin_id);
    if (!entry) throw new Error(`coin ${p.coin_id} is no longer configured`);
    const d = entry.coin.decimals;
    const deposits = await depositsOf(em, paymentId);
    const iso = (v: Date | string) => new Date(v).toISOString();
    return {
      found: true,
      payment: {
        object: 'payment',
        id: p.id,
        merchantId: p.merchant_id,
        orderId: p.order_id,
        description: p.description,
        status: p.status,
        coinId: p.coin_id,
        networkId: p.network_id,
        address: p.address,
        amount: fmt(p.amount, d),
        amountReceived: fmt(p.amount_received, d)!,
        amountConfirmed: fmt(p.amount_confirmed, d)!,
        amountDue: fmt(p.amount_due, d),
        priceAmount: p.price_amount,
        priceCurrency: p.price_currency,
        rate: p.rate,
        paidLate: p.paid_late,
        metadata: p.metadata ?? null,
        expiresAt: iso(p.expires_at),
        createdAt: iso(p.created_at),
        updatedAt: iso(p.updated_at),
        deposits: deposits.map((x) => ({
          id: x.id,
          txHash: x.tx_hash,
          index: x.idx,
          amount: fmt(x.amount, d)!,
          confirmations: x.confirmations,
          status: x.status,
        })),
      },
    };
  });
}
