import { requireOperator } from '@cpg/core/graphql';
import type { MutationResolvers } from '../../generated/resolvers-types';

export const approveColdWallet: MutationResolvers['approveColdWallet'] = async (_, args, ctx) => {
  requireOperator(ctx.identity);
  return ctx.addresses.decideColdWallet(args.id, 'approve');
};
