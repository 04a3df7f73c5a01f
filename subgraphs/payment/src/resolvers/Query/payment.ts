import { requireMerchant } from '@cpg/core/graphql';
import type { QueryResolvers } from '../../generated/resolvers-types';

export const payment: QueryResolvers['payment'] = async (_, args, ctx) => {
  if (ctx.identity.kind !== 'operator') requireMerchant(ctx.identity, 'READ');
  return ctx.payments.findVisible(ctx.identity, args.id);
};
