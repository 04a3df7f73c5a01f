import { badInput } from '@cpg/core/graphql';

/**
 * What refundPayment sends back by default: the part paid above the amount asked (overpaid),
 * else everything received. Only confirmed money counts: the rest is not in the ledger yet.
 */
export function defaultRefund(p: { amount: bigint | null; amountConfirmed: bigint }): bigint {
  const overpaid = p.amount !== null && p.amountConfirmed > p.amount ? p.amountConfirmed - p.amount : 0n;
  const out = overpaid > 0n ? overpaid : p.amountConfirmed;
  if (out <= 0n) throw badInput('the payment has received nothing confirmed to refund', { field: 'paymentId' });
  return out;
}
