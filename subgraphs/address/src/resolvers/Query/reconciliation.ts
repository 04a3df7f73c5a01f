import { requireOperator } from '@cpg/core/graphql';
import type { QueryResolvers } from '../../generated/resolvers-types';

/** Operator only: per coin, the merchant's on-chain balances against its ledger (reads the chains now). */
export const reconciliation: QueryResolvers['reconciliation'] = async (_, args, ctx) => {
  requireOperator(ctx.identity);
  return ctx.reconciliation.lines(args.merchantId);
};
