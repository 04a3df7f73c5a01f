import { randomUUID } from 'node:crypto';
import { type EntityManager, deterministicId, writeOutbox } from '@cpg/core/db';
import { AppError, badInput, notFound } from '@cpg/core/graphql';
import { SCHEMA } from '../../migrations';
import { ALERT_STATUSES, type AlertStatus, resolveStep } from '../domain/alerts';
import { decodeCursor, encodeCursor, pageSize } from '../domain/cursor';
import type { AssessmentRow } from './screening';
import { T } from './screening';

export interface DepositRef {
  network: string;
  txHash: string;
  index: number;
  addressId: string;
  coinId: string;
  amount: string;
}

export interface AlertRow {
  id: string;
  merchant_id: string;
  assessment_id: string;
  subject: string;
  subject_ref: string;
  level: string;
  decision: 'ALLOW' | 'REVIEW' | 'BLOCK';
  reasons: string[];
  status: AlertStatus;
  deposit: DepositRef | null;
  created_at: Date;
  resolved_at: Date | null;
  resolved_by: string | null;
  note: string | null;
}

export function toAlert(r: AlertRow) {
  return {
    id: r.id,
    merchant: { id: r.merchant_id },
    subject: r.subject,
    level: r.level,
    status: r.status,
    reasons: r.reasons,
    createdAt: new Date(r.created_at),
    resolvedAt: r.resolved_at ? new Date(r.resolved_at) : null,
    note: r.note,
  };
}

async function publishAlert(tx: EntityManager, a: AlertRow, event: 'raised' | 'resolved'): Promise<void> {
  await writeOutbox(
    tx,
    SCHEMA,
    'compliance.alert',
    {
      alertId: a.id,
      merchantId: a.merchant_id,
      event,
      status: a.status,
      decision: a.status === 'ALLOWED' ? 'ALLOW' : a.status === 'BLOCKED' ? 'BLOCK' : a.decision,
      level: a.level,
      subject: a.subject,
      subjectRef: a.subject_ref,
      reasons: a.reasons,
    },
    { key: a.id, id: deterministicId(`compliance.alert:${a.id}:${event}:${a.status}`) },
  );
}

/**
 * `compliance.deposit_hold`, keyed by the deposit so one deposit's decisions stay in order on one
 * subject. `id` makes a re-run of the same decision one message, dropped downstream too.
 */
async function writeDepositDecision(
  tx: EntityManager,
  d: DepositRef,
  decision:
    | { alertId: string; merchantId: string; action: 'HOLD' | 'RELEASE' | 'BLOCK' }
    | { alertId: null; assessmentId: string; merchantId: string; action: 'CLEAR' },
  id: string,
): Promise<void> {
  await writeOutbox(
    tx,
    SCHEMA,
    'compliance.deposit_hold',
    { ...decision, network: d.network, txHash: d.txHash, index: d.index, addressId: d.addressId, coinId: d.coinId, amount: d.amount },
    { key: deterministicId(`${d.network}:${d.txHash}:${d.index}`), id },
  );
}

async function publishHold(tx: EntityManager, a: AlertRow, action: 'HOLD' | 'RELEASE' | 'BLOCK'): Promise<void> {
  if (!a.deposit) return;
  await writeDepositDecision(tx, a.deposit, { alertId: a.id, merchantId: a.merchant_id, action }, deterministicId(`compliance.deposit_hold:${a.id}:${action}`));
}

/**
 * An ALLOW screening of a deposit's sender: `compliance.deposit_hold` CLEAR, in the screening's
 * transaction, so the merchant's ledger moves the credit it keeps in held until a decision to
 * available. Every screened deposit thus gets exactly one first decision, CLEAR or HOLD.
 */
export async function clearDeposit(tx: EntityManager, assessment: AssessmentRow, deposit: DepositRef): Promise<boolean> {
  if (assessment.decision !== 'ALLOW' || !assessment.merchant_id) return false;
  const d = deposit;
  await writeDepositDecision(
    tx,
    d,
    { alertId: null, assessmentId: assessment.id, merchantId: assessment.merchant_id, action: 'CLEAR' },
    deterministicId(`compliance.deposit_hold:${d.network}:${d.txHash}:${d.index}:CLEAR`),
  );
  return true;
}

/** A REVIEW or BLOCK screening with a merchant: an alert, its event and, for a deposit, the hold. */
export async function raiseAlert(tx: EntityManager, assessment: AssessmentRow, deposit: DepositRef | null, now: Date): Promise<AlertRow | null> {
  if (assessment.decision === 'ALLOW' || !assessment.merchant_id) return null;
  const [alert] = await tx.execute<AlertRow[]>(
    `insert into ${T}.alerts (id, merchant_id, assessment_id, subject, subject_ref, level, decision, reasons, status, deposit, created_at)
     values (?, ?, ?, ?, ?, ?, ?, ?::jsonb, 'OPEN', ?::jsonb, ?) on conflict (assessment_id) do nothing returning *`,
    [
      randomUUID(),
      assessment.merchant_id,
      assessment.id,
      assessment.subject,
      assessment.subject_ref,
      assessment.level,
      assessment.decision,
      JSON.stringify(assessment.reasons),
      deposit ? JSON.stringify(deposit) : null,
      now,
    ],
  );
  if (!alert) return null;
  await tx.execute(`insert into ${T}.alert_actions (id, alert_id, actor, action, decision, note, at) values (?, ?, 'rules', 'raised', ?, null, ?)`, [
    randomUUID(),
    alert.id,
    assessment.decision,
    now,
  ]);
  await publishAlert(tx, alert, 'raised');
  await publishHold(tx, alert, 'HOLD');
  return alert;
}

export async function resolveAlert(
  tx: EntityManager,
  id: string,
  decision: 'ALLOW' | 'REVIEW' | 'BLOCK',
  note: string | null,
  actor: string,
  now = new Date(),
): Promise<AlertRow> {
  const [alert] = await tx.execute<AlertRow[]>(`select * from ${T}.alerts where id = ? for update`, [id]);
  if (!alert) throw notFound('alert');
  const step = resolveStep(alert.status, decision);
  if (!step.ok) throw new AppError(step.code, step.reason);
  if (!step.changed) return alert;
  const [updated] = await tx.execute<AlertRow[]>(`update ${T}.alerts set status = ?, resolved_at = ?, resolved_by = ?, note = ? where id = ? returning *`, [
    step.next,
    now,
    actor,
    note,
    id,
  ]);
  await tx.execute(`insert into ${T}.alert_actions (id, alert_id, actor, action, decision, note, at) values (?, ?, ?, 'resolved', ?, ?, ?)`, [
    randomUUID(),
    id,
    actor,
    decision,
    note,
    now,
  ]);
  await publishAlert(tx, updated!, 'resolved');
  await publishHold(tx, updated!, decision === 'ALLOW' ? 'RELEASE' : 'BLOCK');
  return updated!;
}

export async function listAlerts(
  em: EntityManager,
  merchantId: string | null,
  status: string | null | undefined,
  first: number | null | undefined,
  after: string | null | undefined,
) {
  const size = pageSize(first);
  const where: string[] = [];
  const params: unknown[] = [];
  if (merchantId) {
    where.push('merchant_id = ?');
    params.push(merchantId);
  }
  if (status) {
    const s = status.toUpperCase();
    if (!ALERT_STATUSES.includes(s as AlertStatus)) throw badInput(`status is one of ${ALERT_STATUSES.join(', ')}`, { field: 'status' });
    where.push('status = ?');
    params.push(s);
  }
  if (after) {
    const p = decodeCursor('alert', after);
    where.push('(created_at, id) < (?, ?)');
    params.push(p.createdAt, p.id);
  }
  const rows = await em.execute<AlertRow[]>(
    `select * from ${T}.alerts ${where.length ? `where ${where.join(' and ')}` : ''} order by created_at desc, id desc limit ${size + 1}`,
    params,
  );
  const page = rows.slice(0, size);
  const last = page[page.length - 1];
  return {
    nodes: page.map(toAlert),
    pageInfo: { hasNextPage: rows.length > size, endCursor: last ? encodeCursor('alert', { createdAt: new Date(last.created_at), id: last.id }) : null },
  };
}
