import { requireMerchant } from '@cpg/core/graphql';
import type { QueryResolvers } from '../../generated/resolvers-types';

export const validateAddress: QueryResolvers['validateAddress'] = async (_, args, ctx) => {
  requireMerchant(ctx.identity, 'READ');
  const r = ctx.catalogue.validate(args.networkId, args.address);
  return { valid: r.valid, normalized: r.normalized ?? null, reason: r.reason ?? null };
};
