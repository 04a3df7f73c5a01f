import { requireOperator } from '@cpg/core/graphql';
import type { AddressContext } from '../../context';

/** Operator only: per coin, the merchant's on-chain balances against its ledger (reads the chains now). */
export async function reconciliation(_: unknown, args: { merchantId: string }, ctx: AddressContext) {
  requireOperator(ctx.identity);
  return ctx.reconciliation.lines(args.merchantId);
}
