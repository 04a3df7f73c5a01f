import { requireMerchant } from '@cpg/shared/graphql';
import type { AddressContext } from '../../context';
import type { RegisterColdWalletInput } from '../../services/addresses';

export async function registerColdWallet(_: unknown, args: { input: RegisterColdWalletInput }, ctx: AddressContext) {
  const caller = requireMerchant(ctx.identity, 'ADDRESSES_WRITE');
  return ctx.addresses.registerColdWallet(caller, args.input);
}
