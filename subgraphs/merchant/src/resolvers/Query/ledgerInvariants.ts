import { requireOperator } from '@cpg/core/graphql';
import type { MerchantContext } from '../../context';

export async function ledgerInvariants(_: unknown, __: unknown, ctx: MerchantContext) {
  requireOperator(ctx.identity);
  return ctx.ledger.invariants();
}
