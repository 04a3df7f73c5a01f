import { requireMerchant } from '@cpg/core/graphql';
import type { QueryResolvers } from '../../generated/resolvers-types';

export const withdrawalLimits: QueryResolvers['withdrawalLimits'] = async (_, _args, ctx) => {
  const caller = requireMerchant(ctx.identity, 'READ');
  return ctx.withdrawals.limits(caller.merchantId);
};
