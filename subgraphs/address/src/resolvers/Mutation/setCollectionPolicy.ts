import { requireMerchant } from '@cpg/shared/graphql';
import type { AddressContext } from '../../context';
import type { SetCollectionPolicyInput } from '../../services/collection';

export async function setCollectionPolicy(_: unknown, args: { input: SetCollectionPolicyInput }, ctx: AddressContext) {
  const caller = requireMerchant(ctx.identity, 'ADDRESSES_WRITE');
  return ctx.collection.setPolicy(caller, args.input);
}
