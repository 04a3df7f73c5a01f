import { z } from 'zod';

export const ADDRESS_MODES = ['SINGLE', 'COMMON', 'CROSS'] as const;
export const AGGREGATION_MODES = ['NONE', 'BATCH'] as const;
export type AddressMode = (typeof ADDRESS_MODES)[number];
export type AggregationMode = (typeof AGGREGATION_MODES)[number];

/**
 * The merchant's settings as the merchant subgraph publishes them (all of them, after a change)
 * and the address, payment and withdrawal subgraphs copy them. Bounds are the merchant subgraph's
 * (domain/settings), which refuses anything else before it publishes. Every field is optional so an
 * event from an older producer that lacked one still parses; a consumer keeps its value then.
 */
export const merchantSettingsSchema = z.object({
  addressMode: z.enum(ADDRESS_MODES).optional(),
  withdrawalAggregation: z.enum(AGGREGATION_MODES).optional(),
  batchMaxSize: z.number().int().min(1).optional(),
  batchMaxWaitSeconds: z.number().int().nonnegative().optional(),
  paymentExpiryMinutes: z.number().int().min(1).optional(),
  /** Decimal fraction, e.g. "0.005". */
  underpaymentTolerance: z.string().optional(),
});
export type MerchantSettingsMessage = z.infer<typeof merchantSettingsSchema>;

export const merchantEvents = {
  'merchant.created': z.object({ merchantId: z.string().uuid(), name: z.string() }),
  'merchant.settings_updated': z.object({ merchantId: z.string().uuid(), settings: merchantSettingsSchema }),
  'merchant.api_key_created': z.object({ merchantId: z.string().uuid(), keyId: z.string().uuid(), scopes: z.array(z.string()) }),
  'merchant.api_key_revoked': z.object({ merchantId: z.string().uuid(), keyId: z.string().uuid() }),
} as const;
