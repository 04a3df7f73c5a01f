import type { QueryResolvers } from '../../generated/resolvers-types';
import { buildReport, toCsv } from '../../services/report';
import { actorOf } from '../actor';

/** Alerts, decisions and transfers over the travel-rule threshold in [from, to): the merchant's own, or all for the operator. */
export const complianceReport: QueryResolvers['complianceReport'] = async (_, args, ctx) => {
  const actor = actorOf(ctx, 'READ');
  const from = new Date(args.from);
  const to = new Date(args.to);
  const format = args.format ?? 'CSV';
  const rows = await buildReport(ctx.em, actor.kind === 'merchant' ? actor.merchantId : null, from, to, ctx.thresholds.travelRuleCents);
  return { format, from, to, rows: rows.length, content: format === 'CSV' ? toCsv(rows) : JSON.stringify(rows) };
};
