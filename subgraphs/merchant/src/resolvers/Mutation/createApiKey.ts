import { requireMerchant } from '@cpg/core/graphql';
import type { MutationResolvers } from '../../generated/resolvers-types';

export const createApiKey: MutationResolvers['createApiKey'] = async (_, args, ctx) => {
  const caller = requireMerchant(ctx.identity, 'SETTINGS_WRITE');
  return ctx.merchants.createApiKey(caller, args.input);
};
