import { requireMerchant } from '@cpg/core/graphql';
import type { MerchantContext } from '../../context';

export async function createApiKey(_: unknown, args: { input: { label: string; scopes: string[] } }, ctx: MerchantContext) {
  const caller = requireMerchant(ctx.identity, 'SETTINGS_WRITE');
  return ctx.merchants.createApiKey(caller, args.input);
}
