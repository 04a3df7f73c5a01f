import { requireMerchant } from '@cpg/core/graphql';
import type { MutationResolvers } from '../../generated/resolvers-types';

/** The merchant's own limits per coin (a key with SETTINGS_WRITE). */
export const setWithdrawalLimit: MutationResolvers['setWithdrawalLimit'] = async (_, args, ctx) => {
  const caller = requireMerchant(ctx.identity, 'SETTINGS_WRITE');
  return ctx.withdrawals.setLimit(caller, args.input);
};
