import { AppError, requireMerchant } from '@cpg/core/graphql';
import type { MutationResolvers } from '../../generated/resolvers-types';
import { isUuid } from '../../domain/ids';

export const revokeApiKey: MutationResolvers['revokeApiKey'] = async (_, args, ctx) => {
  const caller = requireMerchant(ctx.identity, 'SETTINGS_WRITE');
  // Whatever the shape, an id that names none of the caller's keys is the same answer: a prefix
  // ("cpg_...") or a mistyped id is as unknown as a UUID that was never issued.
  if (!isUuid(args.id)) throw new AppError('NOT_FOUND', "API key not found: give the key's id (a UUID, from me { apiKeys { id } }), not its prefix");
  return ctx.merchants.revokeApiKey(caller, args.id);
};
