import type { EntityManager } from '@cpg/core/db';
import { badInput } from '@cpg/core/graphql';
import { formatCents } from '../domain/fiat';
import { T } from './screening';

export interface ReportRow {
  kind: 'alert' | 'decision' | 'transfer';
  at: string;
  id: string;
  merchantId: string;
  subject: string;
  subjectRef: string;
  decision: string;
  level: string;
  status: string;
  network: string;
  coinId: string;
  /** Base units of coinId. */
  amountBaseUnits: string;
  usd: string;
  reasons: string;
}

const COLUMNS: (keyof ReportRow)[] = [
  'kind',
  'at',
  'id',
  'merchantId',
  'subject',
  'subjectRef',
  'decision',
  'level',
  'status',
  'network',
  'coinId',
  'amountBaseUnits',
  'usd',
  'reasons',
];

/** RFC 4180: quoted when needed, quotes doubled; a leading = + - @ is prefixed so spreadsheets do not run it. */
export function csvCell(v: string): string {
  const safe = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export function toCsv(rows: readonly ReportRow[]): string {
  return [COLUMNS.join(','), ...rows.map((r) => COLUMNS.map((c) => csvCell(r[c])).join(','))].join('\r\n') + '\r\n';
}

const usd = (c: string | null) => (c === null ? '' : formatCents(BigInt(c)));

/** An alert row and a decision row both carry their screening's columns, under the same names. */
function screenedColumns(r: any): Omit<ReportRow, 'kind' | 'at' | 'status'> {
  return {
    id: r.id,
    merchantId: r.merchant_id,
    subject: r.subject,
    subjectRef: r.subject_ref,
    decision: r.decision,
    level: r.level,
    network: r.network_id,
    coinId: r.coin_id ?? '',
    amountBaseUnits: r.amount ?? '',
    usd: usd(r.usd_cents),
    reasons: (r.reasons as string[]).join('; '),
  };
}

/**
 * Alerts raised, decisions other than ALLOW taken, and transfers at or above the travel-rule
 * threshold in [from, to), for one merchant or (operator) all. Ordered by time.
 */
export async function buildReport(em: EntityManager, merchantId: string | null, from: Date, to: Date, travelRuleCents: bigint): Promise<ReportRow[]> {
  if (!(from.getTime() < to.getTime())) throw badInput('from must be before to', { field: 'from' });
  if (to.getTime() - from.getTime() > 366 * 86_400_000) throw badInput('a report covers at most 366 days', { field: 'to' });
  const m = merchantId ? 'and merchant_id = ?' : '';
  const mp = merchantId ? [merchantId] : [];
  const alerts = await em.execute<any[]>(
    `select a.*, s.network_id, s.coin_id, s.amount::text as amount, s.usd_cents::text as usd_cents from ${T}.alerts a join ${T}.assessments s on s.id = a.assessment_id
      where a.created_at >= ? and a.created_at < ? ${m.replace('merchant_id', 'a.merchant_id')} order by a.created_at, a.id`,
    [from, to, ...mp],
  );
  const decisions = await em.execute<any[]>(
    `select * from ${T}.assessments where screened_at >= ? and screened_at < ? and decision <> 'ALLOW' and merchant_id is not null ${m} order by screened_at, id`,
    [from, to, ...mp],
  );
  const transfers = await em.execute<any[]>(
    `select t.*, t.amount::text as amount, t.usd_cents::text as usd_cents, s.decision, s.level, s.subject_ref from ${T}.transfers t join ${T}.assessments s on s.id = t.assessment_id
      where t.seen_at >= ? and t.seen_at < ? and t.usd_cents >= ? ${m.replace('merchant_id', 't.merchant_id')} order by t.seen_at, t.tx_hash, t.idx`,
    [from, to, travelRuleCents.toString(), ...mp],
  );
  const rows: ReportRow[] = [
    ...alerts.map((a) => ({ kind: 'alert' as const, at: new Date(a.created_at).toISOString(), status: a.status, ...screenedColumns(a) })),
    ...decisions.map((d) => ({ kind: 'decision' as const, at: new Date(d.screened_at).toISOString(), status: d.decided_by, ...screenedColumns(d) })),
    ...transfers.map((t) => ({
      kind: 'transfer' as const,
      at: new Date(t.seen_at).toISOString(),
      id: `${t.network_id}:${t.tx_hash}:${t.idx}`,
      merchantId: t.merchant_id,
      subject: t.from_address ?? 'unknown sender',
      subjectRef: t.subject_ref,
      decision: t.decision,
      level: t.level,
      status: 'over travel-rule threshold',
      network: t.network_id,
      coinId: t.coin_id,
      amountBaseUnits: t.amount,
      usd: usd(t.usd_cents),
      reasons: '',
    })),
  ];
  return rows.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : a.kind < b.kind ? -1 : 1));
}
