import { badInput, requireMerchant } from '@cpg/shared/graphql';
import type { MerchantContext } from '../../context';
import { isUuid } from '../../domain/ids';

export async function revokeApiKey(_: unknown, args: { id: string }, ctx: MerchantContext) {
  const caller = requireMerchant(ctx.identity, 'SETTINGS_WRITE');
  if (!isUuid(args.id)) throw badInput('id is not a valid API key id', { field: 'id' });
  return ctx.merchants.revokeApiKey(caller, args.id);
}
