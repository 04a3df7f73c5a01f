import { requireMerchant } from '@cpg/core/graphql';
import type { MutationResolvers } from '../../generated/resolvers-types';

export const updateMerchantSettings: MutationResolvers['updateMerchantSettings'] = async (_, args, ctx) => {
  const caller = requireMerchant(ctx.identity, 'SETTINGS_WRITE');
  return ctx.merchants.updateSettings(caller.merchantId, args.input);
};
