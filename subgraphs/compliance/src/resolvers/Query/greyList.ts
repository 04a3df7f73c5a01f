import type { QueryResolvers } from '../../generated/resolvers-types';
import { listEntries } from '../../services/greylist';
import { actorOf } from '../actor';

export const greyList: QueryResolvers['greyList'] = async (_, args, ctx) => {
  return listEntries(ctx.em, actorOf(ctx, 'READ'), args.first, args.after);
};
