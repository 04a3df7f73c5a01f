import { requireOperator } from '@cpg/core/graphql';
import type { MerchantContext } from '../../context';

export async function createMerchant(_: unknown, args: { input: { name: string } }, ctx: MerchantContext) {
  requireOperator(ctx.identity);
  return ctx.merchants.createMerchant(args.input.name);
}
