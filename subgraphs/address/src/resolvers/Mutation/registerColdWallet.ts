import { requireMerchant } from '@cpg/core/graphql';
import type { AddressContext } from '../../context';
import type { RegisterColdWalletInput } from '../../services/addresses';

/** A cold wallet is a destination of funds: the withdrawal scope, not the addresses one (README "Collection"). */
export async function registerColdWallet(_: unknown, args: { input: RegisterColdWalletInput }, ctx: AddressContext) {
  const caller = requireMerchant(ctx.identity, 'WITHDRAWALS_WRITE');
  return ctx.addresses.registerColdWallet(caller, args.input);
}
