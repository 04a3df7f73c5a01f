import { requireMerchant } from '@cpg/core/graphql';
import type { QueryResolvers } from '../../generated/resolvers-types';
import type { SweepView } from '../../services/collection';

type Shown = SweepView & { coin: NonNullable<SweepView['coin']>; network: NonNullable<SweepView['network']> };

/** The collector's sweep steps (top-ups, sweeps, cold forwards) of the merchant, newest first. */
export const sweeps: QueryResolvers['sweeps'] = async (_, args, ctx) => {
  const caller = requireMerchant(ctx.identity, 'READ');
  const page = await ctx.collection.listSweeps(caller.merchantId, args.first, args.after);
  // listSweeps already leaves out sweeps whose coin or network left the configuration; this says so to the type.
  return { ...page, nodes: page.nodes.filter((n): n is Shown => n.coin !== null && n.network !== null) };
};
