import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@cpg/core/db';
import { badInput, conflict, forbidden, notFound } from '@cpg/core/graphql';
import { codecFor } from '@cpg/chains/codecs';
import { addressKey } from '../domain/address';
import { pageSize } from '../domain/cursor';
import { greyListPermission } from '../domain/greylist';
import { type ScreeningService, T } from './screening';

export type Actor = { kind: 'operator' } | { kind: 'merchant'; merchantId: string };

interface GreyRow {
  id: string;
  merchant_id: string | null;
  network_id: string;
  address: string;
  action: string;
  reason: string;
  source: string;
  created_at: Date;
}

export function toEntry(r: GreyRow) {
  return {
    id: r.id,
    network: { id: r.network_id },
    address: r.address,
    action: r.action,
    reason: r.reason,
    source: r.source,
    createdAt: new Date(r.created_at),
  };
}

const actorName = (a: Actor) => (a.kind === 'operator' ? 'operator' : `merchant:${a.merchantId}`);

/** The operator adds global entries; a merchant adds its own. BLOCK or REVIEW only. */
export async function addEntry(
  em: EntityManager,
  screening: ScreeningService,
  actor: Actor,
  input: { networkId: string; address: string; action: string; reason: string },
) {
  if (input.action !== 'BLOCK' && input.action !== 'REVIEW') throw badInput('a grey-list entry is BLOCK or REVIEW', { field: 'action' });
  const reason = input.reason.trim();
  if (!reason || reason.length > 500) throw badInput('reason must be 1 to 500 characters', { field: 'reason' });
  const network = screening.network(input.networkId);
  const v = codecFor(network.family).validateAddress(network, input.address.trim());
  if (!v.valid) throw badInput(`not a ${network.name} address: ${v.reason ?? 'invalid'}`, { field: 'address' });
  const address = v.normalized ?? input.address.trim();
  const merchantId = actor.kind === 'merchant' ? actor.merchantId : null;
  const rows = await em.execute<GreyRow[]>(
    `insert into ${T}.grey_list (id, merchant_id, network_id, address, address_key, action, reason, source, created_by, created_at)
     values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) on conflict do nothing returning *`,
    [randomUUID(), merchantId, network.id, address, addressKey(address), input.action, reason, actor.kind, actorName(actor), new Date()],
  );
  if (!rows[0]) throw conflict('this address is already on the grey list', { field: 'address' });
  return toEntry(rows[0]);
}

/** Soft delete: the entry stays for the audit trail, with who removed it and when. */
export async function removeEntry(em: EntityManager, actor: Actor, id: string): Promise<boolean> {
  if (!/^[0-9a-f-]{36}$/i.test(id)) throw notFound('grey-list entry');
  return em.transactional(async (tx) => {
    const [row] = await tx.execute<GreyRow[]>(`select * from ${T}.grey_list where id = ? and removed_at is null for update`, [id]);
    if (!row) throw notFound('grey-list entry');
    const refusal = greyListPermission(actor, row.merchant_id);
    if (refusal) {
      // Another merchant's entry does not exist as far as this merchant can tell.
      if (actor.kind === 'merchant' && row.merchant_id !== null) throw notFound('grey-list entry');
      throw forbidden(refusal);
    }
    await tx.execute(`update ${T}.grey_list set removed_at = ?, removed_by = ? where id = ?`, [new Date(), actorName(actor), id]);
    return true;
  });
}

/** A merchant sees the global entries (they apply to it) and its own; the operator sees all. */
export async function listEntries(em: EntityManager, actor: Actor, first: number | null | undefined, after: string | null | undefined) {
  const size = pageSize(first);
  const where = ['removed_at is null'];
  const params: unknown[] = [];
  if (actor.kind === 'merchant') {
    where.push('(merchant_id is null or merchant_id = ?)');
    params.push(actor.merchantId);
  }
  // The list has no page info: `after` is the id of the last entry of the previous page.
  if (after) {
    if (!/^[0-9a-f-]{36}$/i.test(after)) throw badInput('after is the id of a grey-list entry', { field: 'after' });
    where.push(`(created_at, id) < (select created_at, id from ${T}.grey_list where id = ?)`);
    params.push(after);
  }
  const rows = await em.execute<GreyRow[]>(`select * from ${T}.grey_list where ${where.join(' and ')} order by created_at desc, id desc limit ${size}`, params);
  return rows.map(toEntry);
}
