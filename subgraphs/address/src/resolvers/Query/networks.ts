import type { QueryResolvers } from '../../generated/resolvers-types';

// The network catalogue is public information (the checkout widget shows it too): no key needed.
export const networks: QueryResolvers['networks'] = async (_, _args, ctx) => {
  return ctx.catalogue.list();
};
