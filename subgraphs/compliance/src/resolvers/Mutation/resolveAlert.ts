import { badInput, notFound, requireOperator } from '@cpg/core/graphql';
import type { MutationResolvers } from '../../generated/resolvers-types';
import { resolveAlert as resolve, toAlert } from '../../services/alerts';

/**
 * The compliance officer (operator) decides: ALLOW releases held deposit funds, BLOCK keeps them
 * held. Audited in alert_actions with the note. A merchant cannot release its own held funds.
 */
export const resolveAlert: MutationResolvers['resolveAlert'] = async (_, args, ctx) => {
  requireOperator(ctx.identity);
  if (!/^[0-9a-f-]{36}$/i.test(args.id)) throw notFound('alert');
  const note = args.note?.trim() || null;
  if (note && note.length > 2000) throw badInput('note must be at most 2000 characters', { field: 'note' });
  const row = await ctx.em.fork().transactional((tx) => resolve(tx, args.id, args.decision, note, 'operator'));
  ctx.kick();
  return toAlert(row);
};
