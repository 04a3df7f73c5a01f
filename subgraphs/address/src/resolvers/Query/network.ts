import type { QueryResolvers } from '../../generated/resolvers-types';

export const network: QueryResolvers['network'] = async (_, args, ctx) => {
  return ctx.catalogue.network(args.id) ?? null;
};
