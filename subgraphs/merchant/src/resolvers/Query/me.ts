import { requireMerchant } from '@cpg/core/graphql';
import type { MerchantContext } from '../../context';

export async function me(_: unknown, __: unknown, ctx: MerchantContext) {
  const caller = requireMerchant(ctx.identity, 'READ');
  return ctx.merchants.requireMerchant(caller.merchantId);
}
