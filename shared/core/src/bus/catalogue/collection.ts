import { z } from 'zod';
import { COLLECTION_STEP_KINDS, baseUnits } from './common';

export const SWEEP_STATUSES = ['PLANNED', 'BROADCAST', 'CONFIRMED', 'FAILED'] as const;
export const AWAITING_CODES = [
  'below_threshold',
  'fee_ratio',
  'dust',
  'funder_short',
  'held',
  'gas_topup_pending',
  'no_hot_wallet',
  'no_price',
  'node_unavailable',
] as const;

/** Which collector step a message is about, after the step's own id. */
const planStep = { planId: z.string().uuid(), merchantId: z.string().uuid(), network: z.string() };

export const collectionEvents = {
  /**
   * A merchant set its collection policy for one coin (key = merchantId). Published by
   * the address subgraph through its outbox; the collector keeps the newest (by `updatedAt`) as its
   * local copy. Amounts in base units of the coin; `coldWalletAddress` is the merchant's own COLD
   * address on the coin's network, or null (the surplus then goes to TOKENS_COLLECTOR, else HOT).
   */
  'collection.policy_updated': z.object({
    merchantId: z.string().uuid(),
    networkId: z.string(),
    coinId: z.string(),
    collectThreshold: baseUnits,
    hotTarget: baseUnits,
    coldWalletId: z.string().uuid().nullable(),
    coldWalletAddress: z.string().nullable(),
    /** Decimal fraction, 0 < r < 1, e.g. "0.02". */
    maxFeeRatio: z.string(),
    updatedAt: z.string(),
  }),
  /**
   * One step of a collector sweep plan moved (key = sweepId, the step's id). Kinds: `gas_topup`
   * (native coin from TOKENS_COLLECTOR/HOT to a USER address), `sweep` (USER -> HOT), `cold_forward`
   * (USER -> COLD or TOKENS_COLLECTOR). `fee` is in base units of `feeCoinId` (the network's native
   * coin). Statuses only move forward: PLANNED -> BROADCAST -> CONFIRMED | FAILED; consumers keep the
   * furthest one seen.
   */
  'collection.sweep_updated': z.object({
    sweepId: z.string().uuid(),
    ...planStep,
    coinId: z.string(),
    kind: z.enum(COLLECTION_STEP_KINDS),
    fromAddresses: z.array(z.string()).min(1),
    toAddress: z.string(),
    amount: baseUnits,
    fee: baseUnits.nullable(),
    feeCoinId: z.string(),
    txHash: z.string().nullable(),
    status: z.enum(SWEEP_STATUSES),
    createdAt: z.string(),
  }),
  /**
   * What of one merchant's coin the collector leaves at USER addresses for now, and why (key =
   * merchantId): the whole list for (merchantId, coinId), replacing the previous one (empty: nothing
   * waits). Published when an address, its reason or amount changes, or its fee estimate moves by
   * more than a tenth. `reason` is a sentence with the figures (fee against amount and maxFeeRatio,
   * threshold, gas top-up); `estimatedFee` is in base units of `feeCoinId` (the native coin).
   * Newest `at` wins. The address subgraph serves it as `awaitingCollection`.
   */
  'collection.awaiting_updated': z.object({
    merchantId: z.string().uuid(),
    networkId: z.string(),
    coinId: z.string(),
    feeCoinId: z.string(),
    entries: z
      .array(
        z.object({
          addressId: z.string().uuid(),
          address: z.string(),
          amount: baseUnits,
          code: z.enum(AWAITING_CODES),
          reason: z.string().max(2000),
          estimatedFee: baseUnits.nullable(),
        }),
      )
      .max(2000),
    at: z.string(),
  }),
  /**
   * The network fee one collector step's transaction paid (key = stepId), published once the step
   * is final on chain: CONFIRMED, or FAILED after it was mined (a reverted transaction still burns
   * its gas). `fee` is exact (EVM: gasUsed x effectiveGasPrice from the receipt; Bitcoin family:
   * inputs - outputs), in base units of `feeCoinId` (the network's native coin). The merchant
   * subgraph charges it to the merchant's ledger once per step.
   */
  'collection.fee': z.object({
    stepId: z.string().uuid(),
    ...planStep,
    kind: z.enum(COLLECTION_STEP_KINDS),
    feeCoinId: z.string(),
    fee: baseUnits,
    txHash: z.string(),
    status: z.enum(['CONFIRMED', 'FAILED']),
  }),
} as const;
