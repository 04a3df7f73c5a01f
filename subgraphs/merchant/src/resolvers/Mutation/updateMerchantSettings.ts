import { requireMerchant } from '@cpg/core/graphql';
import type { MerchantContext } from '../../context';
import type { SettingsPatch } from '../../domain/settings';

export async function updateMerchantSettings(_: unknown, args: { input: SettingsPatch }, ctx: MerchantContext) {
  const caller = requireMerchant(ctx.identity, 'SETTINGS_WRITE');
  return ctx.merchants.updateSettings(caller.merchantId, args.input);
}
