import { requireMerchant } from '@cpg/core/graphql';
import type { AddressContext } from '../../context';
import type { SetCollectionPolicyInput } from '../../services/collection';

export async function setCollectionPolicy(_: unknown, args: { input: SetCollectionPolicyInput }, ctx: AddressContext) {
  const caller = requireMerchant(ctx.identity, 'ADDRESSES_WRITE');
  // With a cold wallet the policy (its hotTarget included) sends funds out of the hot side: that
  // is a withdrawal in all but name. Without one, funds stay in the merchant's own keyed wallets.
  if (args.input?.coldWalletId != null) requireMerchant(ctx.identity, 'WITHDRAWALS_WRITE');
  return ctx.collection.setPolicy(caller, args.input);
}
