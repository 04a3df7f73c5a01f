import { type InferEntity, defineEntity, p } from '@mikro-orm/core';

export const Merchant = defineEntity({
  name: 'Merchant',
  tableName: 'merchants',
  properties: {
    id: p.uuid().primary(),
    name: p.text(),
    addressMode: p.text().fieldName('address_mode'),
    withdrawalAggregation: p.text().fieldName('withdrawal_aggregation'),
    batchMaxSize: p.integer().fieldName('batch_max_size'),
    batchMaxWaitSeconds: p.integer().fieldName('batch_max_wait_seconds'),
    paymentExpiryMinutes: p.integer().fieldName('payment_expiry_minutes'),
    // Kept as the exact decimal text the merchant set: never a float.
    underpaymentTolerance: p.text().fieldName('underpayment_tolerance'),
    createdAt: p.datetime().fieldName('created_at'),
    updatedAt: p.datetime().fieldName('updated_at'),
  },
});
export type MerchantRow = InferEntity<typeof Merchant>;
