import { requireOperator } from '@cpg/core/graphql';
import type { MutationResolvers } from '../../generated/resolvers-types';

export const createMerchant: MutationResolvers['createMerchant'] = async (_, args, ctx) => {
  requireOperator(ctx.identity);
  return ctx.merchants.createMerchant(args.input.name);
};
