import { forbidden } from '@cpg/core/graphql';
import type { PaymentContext } from '../context';

/**
 * The checkout projection (docs/limits.md, "Anonymous readers"): a checkout token opens one
 * payment to whoever holds it, including another merchant's key, so every private field asks for
 * the payment's own merchant or the operator, not merely for a key.
 */
export function isOwner(row: { merchant_id: string }, ctx: PaymentContext): boolean {
  const id = ctx.identity;
  return id.kind === 'operator' || (id.kind === 'merchant' && id.merchantId === row.merchant_id);
}

/** A private field: its value for the owner, FORBIDDEN (the field null) for anyone else. */
export function privateField<T>(row: { merchant_id: string }, ctx: PaymentContext, coordinate: string, value: () => T): T {
  if (!isOwner(row, ctx)) throw forbidden(`${coordinate} is visible to the payment's merchant only`);
  return value();
}
