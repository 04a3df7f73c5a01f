import type { QueryResolvers } from '../../generated/resolvers-types';
import { listAlerts } from '../../services/alerts';
import { actorOf } from '../actor';

/** A merchant sees only its own alerts; the operator sees everyone's. Newest first. */
export const alerts: QueryResolvers['alerts'] = async (_, args, ctx) => {
  const actor = actorOf(ctx, 'READ');
  return listAlerts(ctx.em, actor.kind === 'merchant' ? actor.merchantId : null, args.status, args.first, args.after);
};
