import { requireOperator } from '@cpg/core/graphql';
import type { MutationResolvers } from '../../generated/resolvers-types';

export const rejectColdWallet: MutationResolvers['rejectColdWallet'] = async (_, args, ctx) => {
  requireOperator(ctx.identity);
  return ctx.addresses.decideColdWallet(args.id, 'reject');
};
