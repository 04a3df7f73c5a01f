import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@cpg/core/db';
import { SCHEMA } from '../../migrations';

// The address service's raw SQL: derivation counters, cached account xpubs, pending key requests
// and the one-owner-per-address table. Addresses themselves are the AddressEntity (MikroORM).
// Functions taking `tx` run in the caller's transaction.

const T = `"${SCHEMA}"`;

export type KeyPurpose = 'HOT' | 'TOKENS_COLLECTOR';

/** The merchant's address mode as last announced by the merchant subgraph; undefined before its first event. */
export async function storedAddressMode(em: EntityManager, merchantId: string): Promise<string | undefined> {
  const rows = await em.execute<{ address_mode: string }[]>(`select address_mode from ${T}.merchant_settings where merchant_id = ?`, [merchantId]);
  return rows[0]?.address_mode;
}

/**
 * The next derivation index of an account, locked until `tx` ends: the lock serialises
 * allocations per account, and a rollback (failed insert) leaves the counter untouched, so no
 * index is ever skipped. advanceDerivation moves it on once the address is stored.
 */
export async function lockNextDerivation(tx: EntityManager, merchantId: string, account: string): Promise<number> {
  await tx.execute(`insert into ${T}.derivation_counters (merchant_id, account) values (?, ?) on conflict do nothing`, [merchantId, account]);
  const [counter] = await tx.execute<{ next_index: number }[]>(
    `select next_index from ${T}.derivation_counters where merchant_id = ? and account = ? for update`,
    [merchantId, account],
  );
  return counter!.next_index;
}

export async function advanceDerivation(tx: EntityManager, merchantId: string, account: string): Promise<void> {
  await tx.execute(`update ${T}.derivation_counters set next_index = next_index + 1 where merchant_id = ? and account = ?`, [merchantId, account]);
}

export async function storedXpub(em: EntityManager, merchantId: string, networkId: string): Promise<string | undefined> {
  const rows = await em.execute<{ xpub: string }[]>(`select xpub from ${T}.account_xpubs where merchant_id = ? and network_id = ?`, [merchantId, networkId]);
  return rows[0]?.xpub;
}

/** Keeps the first xpub stored for the merchant and network (a concurrent call may have stored it). */
export async function storeXpub(em: EntityManager, merchantId: string, networkId: string, xpub: string, path: string): Promise<void> {
  await em.execute(`insert into ${T}.account_xpubs (merchant_id, network_id, xpub, path) values (?, ?, ?, ?) on conflict do nothing`, [
    merchantId,
    networkId,
    xpub,
    path,
  ]);
}

/**
 * The open key request of a merchant, network and purpose, created if there is none. Persisted
 * before the signer is asked, so a retry after a lost reply reuses the same request.
 */
export async function pendingKeyRequest(em: EntityManager, merchantId: string, networkId: string, purpose: KeyPurpose): Promise<string> {
  await em.execute(
    `insert into ${T}.key_requests (id, merchant_id, network_id, purpose) values (?, ?, ?, ?) on conflict (merchant_id, network_id, purpose) where completed_at is null do nothing`,
    [randomUUID(), merchantId, networkId, purpose],
  );
  const rows = await em.execute<{ id: string }[]>(
    `select id from ${T}.key_requests where merchant_id = ? and network_id = ? and purpose = ? and completed_at is null`,
    [merchantId, networkId, purpose],
  );
  // Completed between our insert and select by a concurrent call: start a fresh request.
  if (!rows[0]) return pendingKeyRequest(em, merchantId, networkId, purpose);
  return rows[0].id;
}

export async function lockKeyRequest(tx: EntityManager, requestId: string): Promise<void> {
  await tx.execute(`select id from ${T}.key_requests where id = ? for update`, [requestId]);
}

export async function completeKeyRequest(tx: EntityManager, requestId: string): Promise<void> {
  await tx.execute(`update ${T}.key_requests set completed_at = now() where id = ?`, [requestId]);
}

/** The merchant holding an address of a family on this gateway, if anyone does. */
export async function addressOwner(em: EntityManager, family: string, address: string): Promise<string | undefined> {
  const [owner] = await em.execute<{ merchant_id: string }[]>(`select merchant_id from ${T}.address_owners where family = ? and address = ?`, [
    family,
    address,
  ]);
  return owner?.merchant_id;
}
