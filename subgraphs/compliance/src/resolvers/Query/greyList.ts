import type { ComplianceContext } from '../../context';
import { listEntries } from '../../services/greylist';
import { actorOf } from '../actor';

export async function greyList(_: unknown, args: { first?: number | null; after?: string | null }, ctx: ComplianceContext) {
  return listEntries(ctx.em, actorOf(ctx, 'READ'), args.first, args.after);
}
