import { z } from 'zod';
import { SCREENING_DECISIONS, baseUnits } from './common';

export const ALERT_STATUSES = ['OPEN', 'ALLOWED', 'BLOCKED'] as const;

/** The deposit a compliance decision is about (key `network:txHash:index`), whatever the decision. */
const depositDecision = {
  merchantId: z.string().uuid(),
  network: z.string(),
  txHash: z.string(),
  index: z.number().int().nonnegative(),
  addressId: z.string().uuid(),
  coinId: z.string(),
  amount: baseUnits,
};

export const complianceEvents = {
  /**
   * A compliance alert was raised or resolved (key = alertId). Webhook type `compliance.alert`;
   * `event` says which. Published by the compliance subgraph through its outbox.
   */
  'compliance.alert': z.object({
    alertId: z.string().uuid(),
    merchantId: z.string().uuid(),
    event: z.enum(['raised', 'resolved']),
    status: z.enum(ALERT_STATUSES),
    decision: z.enum(SCREENING_DECISIONS),
    level: z.string(),
    subject: z.string(),
    subjectRef: z.string(),
    reasons: z.array(z.string()),
  }),
  /**
   * Compliance's decision on the funds of one deposit (key = deposit reference
   * `network:txHash:index`); every screened deposit gets one. CLEAR (the sender screened ALLOW, no
   * alert): the merchant's credit, kept in `held` until a decision, becomes available; the payment
   * is not touched. HOLD (REVIEW or BLOCK, an alert): the payment goes ON_HOLD and the credit stays
   * in `held`; RELEASE (resolveAlert ALLOW): the payment resumes and the credit becomes available;
   * BLOCK (resolveAlert BLOCK): stays held. Consumed by the payment subgraph, which applies each
   * (deposit, action) once to the payment and passes its ledger effect on (`payment.deposit_ledger`),
   * and by the collector (it leaves held funds where they are).
   */
  'compliance.deposit_hold': z.discriminatedUnion('action', [
    z.object({ ...depositDecision, alertId: z.string().uuid(), action: z.enum(['HOLD', 'RELEASE', 'BLOCK']) }),
    z.object({
      ...depositDecision,
      /** No alert is raised for a clean sender. */
      alertId: z.null(),
      /** The screening that decided ALLOW. */
      assessmentId: z.string().uuid(),
      action: z.literal('CLEAR'),
    }),
  ]),
} as const;
