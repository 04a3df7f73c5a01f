import { requireMerchant } from '@cpg/core/graphql';
import type { MutationResolvers } from '../../generated/resolvers-types';

export const setCollectionPolicy: MutationResolvers['setCollectionPolicy'] = async (_, args, ctx) => {
  const caller = requireMerchant(ctx.identity, 'ADDRESSES_WRITE');
  // With a cold wallet the policy (its hotTarget included) sends funds out of the hot side: that
  // is a withdrawal in all but name. Without one, funds stay in the merchant's own keyed wallets.
  if (args.input?.coldWalletId != null) requireMerchant(ctx.identity, 'WITHDRAWALS_WRITE');
  return ctx.collection.setPolicy(caller, args.input);
};
