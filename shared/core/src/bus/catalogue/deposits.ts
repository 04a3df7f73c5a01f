import { z } from 'zod';
import { baseUnits, normalTxHash } from './common';

/**
 * One deposit as every service names it: the transfer (network, transaction, position in it),
 * its coin, and its generation (0 unless the transfer was reversed by a reorg and then mined
 * again: the re-inclusion is a new generation, so its ledger effects get fresh keys). The hash is
 * normalised here, once, so one transfer always has one spelling downstream.
 */
export const depositRefSchema = z.object({
  network: z.string().regex(/^[a-z0-9-]+$/),
  txHash: z.string().min(1).max(200).transform(normalTxHash),
  /** Position of the transfer inside the transaction (output index, log index). */
  index: z.number().int().nonnegative(),
  coinId: z.string().min(1),
  generation: z.number().int().nonnegative(),
});
export type DepositRef = z.infer<typeof depositRefSchema>;

/** The decisions compliance takes on a deposit's funds (`compliance.deposit_hold`). */
export const DEPOSIT_DECISIONS = ['CLEAR', 'HOLD', 'RELEASE', 'BLOCK'] as const;
export type DepositDecision = (typeof DEPOSIT_DECISIONS)[number];

/** The ledger effects of a deposit; the four last are compliance decisions (`decisionEffect`). */
export const DEPOSIT_EFFECTS = ['seen', 'credit', 'reversal', 'clear', 'hold', 'release', 'block'] as const;
export type DepositEffect = (typeof DEPOSIT_EFFECTS)[number];
export const DECISION_EFFECTS = ['clear', 'hold', 'release', 'block'] as const;
export type DecisionEffect = (typeof DECISION_EFFECTS)[number];
export const decisionEffect = (d: DepositDecision): DecisionEffect => d.toLowerCase() as DecisionEffect;

/**
 * Where a credit goes, named by the ledger posting it is: `deposit_confirmed` (a payment's) and
 * `unsolicited` (a transfer no payment expected) to available, the sender being screened;
 * `deposit_pending_screening` to held until compliance decides; `deposit_confirmed_held` to held
 * under a compliance hold.
 */
export const DEPOSIT_CREDIT_KINDS = ['deposit_confirmed', 'unsolicited', 'deposit_pending_screening', 'deposit_confirmed_held'] as const;
export type DepositCreditKind = (typeof DEPOSIT_CREDIT_KINDS)[number];

/** Where a reversal takes the amount back from: pending (seen, not credited) or where the credit sits. */
export const DEPOSIT_REVERSAL_SOURCES = ['pending', 'available', 'held'] as const;
export type DepositReversalSource = (typeof DEPOSIT_REVERSAL_SOURCES)[number];

const effectBase = {
  merchantId: z.string().uuid(),
  paymentId: z.string().uuid().nullable(),
  amount: baseUnits,
  deposit: depositRefSchema,
};

const depositLedgerEffect = z.discriminatedUnion('effect', [
  z.object({ ...effectBase, effect: z.literal('seen') }),
  z.object({
    ...effectBase,
    effect: z.literal('credit'),
    credit: z.enum(DEPOSIT_CREDIT_KINDS),
    /** Whether `seen` was posted for this generation: the credit then comes out of pending. */
    fromPending: z.boolean(),
  }),
  z.object({ ...effectBase, effect: z.literal('reversal'), from: z.enum(DEPOSIT_REVERSAL_SOURCES) }),
  z.object({
    ...effectBase,
    effect: z.enum(DECISION_EFFECTS),
    /**
     * True when the decision moves the live credit (hold, block: available -> held; clear,
     * release: held -> available); false when it records the decision only (no credit yet, or the
     * credit already sits where the decision wants it).
     */
    moves: z.boolean(),
  }),
]);
export type DepositLedgerEffect = z.infer<typeof depositLedgerEffect>;

/**
 * The form written before the payment subgraph planned every effect (`network:txHash:index#gen`
 * and a chain kind). Still read so a message of an older producer in the stream is posted, not
 * lost: as the credit of a deposit compliance has not decided on (the decision, from the payment
 * subgraph now, moves it). The stream keeps messages seven days; delete this branch after that.
 */
const legacyDepositLedger = z
  .object({
    merchantId: z.string().uuid(),
    paymentId: z.string().uuid().nullable(),
    coinId: z.string(),
    amount: baseUnits,
    kind: z.enum(['seen', 'confirmed', 'reorged', 'unsolicited_confirmed']),
    depositKey: z.string(),
    wasConfirmed: z.boolean(),
  })
  .transform((old, ctx): DepositLedgerEffect => {
    const m = /^([a-z0-9-]+):([^:#]+):(\d+)(?:#(\d+))?$/.exec(old.depositKey);
    if (!m) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'bad deposit key', path: ['depositKey'] });
      return z.NEVER;
    }
    const deposit = { network: m[1]!, txHash: normalTxHash(m[2]!), index: Number(m[3]), coinId: old.coinId, generation: m[4] ? Number(m[4]) : 0 };
    const base = { merchantId: old.merchantId, paymentId: old.paymentId, amount: old.amount, deposit };
    switch (old.kind) {
      case 'seen':
        return { ...base, effect: 'seen' };
      case 'confirmed':
      case 'unsolicited_confirmed':
        return { ...base, effect: 'credit', credit: 'deposit_pending_screening', fromPending: old.kind === 'confirmed' };
      case 'reorged':
        return { ...base, effect: 'reversal', from: old.wasConfirmed ? 'held' : 'pending' };
    }
  });

export const depositEvents = {
  /**
   * A deposit's ledger effects, all of them and only from the payment subgraph (key = merchantId),
   * which decides each one under the deposit's row lock from what it has emitted before and the
   * compliance decisions it has received; the merchant ledger posts what it is told, once per
   * (deposit, effect) by the posting's idempotency key. Effects of one deposit are emitted in
   * order; a redelivery out of order only delays a move that its source cannot cover yet.
   */
  'payment.deposit_ledger': z.union([depositLedgerEffect, legacyDepositLedger]),
} as const;
