import { requireMerchant } from '@cpg/core/graphql';
import type { MutationResolvers } from '../../generated/resolvers-types';

export const createAddress: MutationResolvers['createAddress'] = async (_, args, ctx) => {
  const caller = requireMerchant(ctx.identity, 'ADDRESSES_WRITE');
  return ctx.addresses.createAddress(caller, args.input);
};
