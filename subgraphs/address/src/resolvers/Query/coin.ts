import type { QueryResolvers } from '../../generated/resolvers-types';

export const coin: QueryResolvers['coin'] = async (_, args, ctx) => {
  return ctx.catalogue.coin(args.id) ?? null;
};
