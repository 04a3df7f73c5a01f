import { requireMerchant } from '@cpg/core/graphql';
import type { AddressContext } from '../../context';
import type { CreateAddressInput } from '../../services/addresses';

export async function createAddress(_: unknown, args: { input: CreateAddressInput }, ctx: AddressContext) {
  const caller = requireMerchant(ctx.identity, 'ADDRESSES_WRITE');
  return ctx.addresses.createAddress(caller, args.input);
}
