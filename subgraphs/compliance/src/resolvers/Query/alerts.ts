import type { ComplianceContext } from '../../context';
import { listAlerts } from '../../services/alerts';
import { actorOf } from '../actor';

/** A merchant sees only its own alerts; the operator sees everyone's. Newest first. */
export async function alerts(_: unknown, args: { status?: string | null; first?: number | null; after?: string | null }, ctx: ComplianceContext) {
  const actor = actorOf(ctx, 'READ');
  return listAlerts(ctx.em, actor.kind === 'merchant' ? actor.merchantId : null, args.status, args.first, args.after);
}
