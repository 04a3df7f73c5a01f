import { requireOperator } from '@cpg/core/graphql';
import type { QueryResolvers } from '../../generated/resolvers-types';

export const ledgerInvariants: QueryResolvers['ledgerInvariants'] = async (_, __, ctx) => {
  requireOperator(ctx.identity);
  return ctx.ledger.invariants();
};
