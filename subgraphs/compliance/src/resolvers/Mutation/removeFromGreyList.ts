import type { ComplianceContext } from '../../context';
import { removeEntry } from '../../services/greylist';
import { actorOf } from '../actor';

export async function removeFromGreyList(_: unknown, args: { id: string }, ctx: ComplianceContext): Promise<boolean> {
  return removeEntry(ctx.em.fork(), actorOf(ctx, 'SETTINGS_WRITE'), args.id);
}
