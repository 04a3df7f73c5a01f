import { requireMerchant } from '@cpg/core/graphql';
import type { MutationResolvers } from '../../generated/resolvers-types';

/** A cold wallet is a destination of funds: the withdrawal scope, not the addresses one (README "Collection"). */
export const registerColdWallet: MutationResolvers['registerColdWallet'] = async (_, args, ctx) => {
  const caller = requireMerchant(ctx.identity, 'WITHDRAWALS_WRITE');
  return ctx.addresses.registerColdWallet(caller, args.input);
};
