import type { MutationResolvers } from '../../generated/resolvers-types';
import { removeEntry } from '../../services/greylist';
import { actorOf } from '../actor';

export const removeFromGreyList: MutationResolvers['removeFromGreyList'] = async (_, args, ctx) => {
  return removeEntry(ctx.em.fork(), actorOf(ctx, 'SETTINGS_WRITE'), args.id);
};
