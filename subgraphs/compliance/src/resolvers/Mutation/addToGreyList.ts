import type { ComplianceContext } from '../../context';
import { addEntry } from '../../services/greylist';
import { actorOf } from '../actor';

/** The operator adds global entries, a merchant (SETTINGS_WRITE) its own. */
export async function addToGreyList(
  _: unknown,
  args: { input: { networkId: string; address: string; action: string; reason: string } },
  ctx: ComplianceContext,
) {
  return addEntry(ctx.em.fork(), ctx.screening, actorOf(ctx, 'SETTINGS_WRITE'), args.input);
}
