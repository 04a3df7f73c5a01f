import { z } from 'zod';
import { baseUnits, changeNotice } from './common';

export const BATCH_STATUSES = ['WAITING_FUNDS', 'SIGNING', 'BROADCAST', 'CONFIRMED', 'FAILED'] as const;
export const WITHDRAWAL_LEDGER_ACTIONS = ['release', 'settle'] as const;

const batchItem = z.object({ withdrawalId: z.string().uuid(), toAddress: z.string(), amount: baseUnits });

export const withdrawalEvents = {
  /**
   * A withdrawal changed. Subject `withdrawal.updated.<withdrawalId>` (key = withdrawal id): the
   * gateway maps `withdrawalUpdated(id)` onto it and re-reads the withdrawal; webhooks use `event`.
   * Published by the withdrawal subgraph through its outbox.
   */
  'withdrawal.updated': z.object({
    withdrawalId: z.string().uuid(),
    merchantId: z.string().uuid(),
    /** event: requested, pending_approval, approved, rejected, cancelled, batched, waiting_funds, signing, broadcast, confirmed, failed */
    ...changeNotice,
  }),
  /**
   * A batch of withdrawals (one, in NONE mode) ready to be signed and sent from the merchant's HOT
   * wallet of the network. Published once per batch by the withdrawal subgraph (key = batchId);
   * consumed by the signer, which must treat a repeat of the same batchId as the same work.
   */
  'withdrawal.batch.ready': z.object({
    batchId: z.string().uuid(),
    merchantId: z.string().uuid(),
    network: z.string(),
    coinId: z.string(),
    items: z.array(batchItem).min(1),
  }),
  /**
   * The signer's progress on a batch (key = batchId). WAITING_FUNDS: the HOT wallet cannot cover it
   * yet (reason says what is missing; the signer retries when funds arrive). BROADCAST carries the
   * tx hash (a fee bump replaces it with a new hash); CONFIRMED carries the final hash, the fee paid
   * (base units of feeCoinId, the network's native coin) and confirmations; FAILED the reason and
   * means no payout was made, so the holds are released: its fee is null when nothing was spent
   * (refused before signing, rejected, dropped) and set when a mined transaction reverted and burnt
   * gas, which the merchant is then charged.
   */
  'withdrawal.batch.updated': z.object({
    batchId: z.string().uuid(),
    merchantId: z.string().uuid(),
    network: z.string(),
    coinId: z.string(),
    status: z.enum(BATCH_STATUSES),
    txHash: z.string().nullable(),
    fee: baseUnits.nullable(),
    feeCoinId: z.string().nullable(),
    reason: z.string().nullable(),
    confirmations: z.number().int().nonnegative(),
  }),
  /**
   * A ledger effect of a withdrawal, from the withdrawal subgraph's outbox to the merchant ledger
   * (key = withdrawal id; the outbox row id is derived from withdrawal id and action, so a repeat
   * is dropped). `release`: the hold goes back to available (rejected, cancelled, failed, or a
   * request that never completed: a release with no hold leaves a tombstone so a late hold is
   * refused). `settle`: `amount` left the hold to the chain; `fee` (base units of `feeCoinId`, the
   * network's native coin) is this withdrawal's share of the batch's network fee, debited from the
   * merchant's available balance of that coin. Applied once per withdrawal either way.
   */
  'withdrawal.ledger': z.object({
    withdrawalId: z.string().uuid(),
    merchantId: z.string().uuid(),
    coinId: z.string(),
    action: z.enum(WITHDRAWAL_LEDGER_ACTIONS),
    amount: baseUnits,
    fee: baseUnits.nullable(),
    feeCoinId: z.string().nullable(),
  }),
} as const;

/** The batch shape the signer asks the withdrawal subgraph to vouch for (`withdrawal.verify_batch`). */
export const batchItems = z.array(batchItem).min(1).max(1000);
