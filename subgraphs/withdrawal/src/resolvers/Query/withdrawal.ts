import { requireMerchant } from '@cpg/core/graphql';
import type { QueryResolvers } from '../../generated/resolvers-types';

/** A merchant reads its own withdrawals (another's is simply not found); the operator reads any. */
export const withdrawal: QueryResolvers['withdrawal'] = async (_, args, ctx) => {
  if (ctx.identity.kind !== 'operator') requireMerchant(ctx.identity, 'READ');
  return ctx.withdrawals.findVisible(ctx.identity, args.id);
};
