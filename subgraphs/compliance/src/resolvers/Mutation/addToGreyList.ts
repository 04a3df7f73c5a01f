import type { MutationResolvers } from '../../generated/resolvers-types';
import { addEntry } from '../../services/greylist';
import { actorOf } from '../actor';

/** The operator adds global entries, a merchant (SETTINGS_WRITE) its own. */
export const addToGreyList: MutationResolvers['addToGreyList'] = async (_, args, ctx) => {
  return addEntry(ctx.em.fork(), ctx.screening, actorOf(ctx, 'SETTINGS_WRITE'), args.input);
};
