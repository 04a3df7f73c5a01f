import type { EntityManager } from '@cpg/core/db';
import { SCHEMA } from '../../migrations';
import { ALLOW_NEGATIVE, type AccountKind, type AccountRef, accountKey } from './postings';

/**
 * The SQL of the ledger's write path (LedgerService): the transaction row that claims a key, the
 * account rows and their locks, the entries. Each function runs on the EntityManager it is given,
 * inside the caller's transaction when there is one.
 */

const T = `"${SCHEMA}"`;

export interface AccountRow {
  id: string;
  merchant_id: string | null;
  coin_id: string;
  kind: AccountKind;
  balance: string;
  allow_negative: boolean;
}

export interface TransactionRow {
  id: string;
  fingerprint: string;
  kind: string;
  reference: string;
  created_at: Date;
}

export interface EntryRow {
  id: string;
  merchant_id: string | null;
  coin_id: string;
  kind: AccountKind;
  amount: string;
  balance_after: string;
}

/**
 * Claims the key: the new transaction row, or null when the key exists. A concurrent twin blocks
 * here until the first commits or rolls back.
 */
export async function claimKey(
  tx: EntityManager,
  key: string,
  fingerprint: string,
  kind: string,
  reference: string,
): Promise<{ id: string; created_at: Date } | null> {
  const inserted = await tx.execute<{ id: string; created_at: Date }[]>(
    `insert into ${T}.ledger_transactions (idempotency_key, fingerprint, kind, reference) values (?, ?, ?, ?)
     on conflict (idempotency_key) do nothing returning id::text as id, created_at`,
    [key, fingerprint, kind, reference],
  );
  return inserted[0] ?? null;
}

export async function transactionByKey(em: EntityManager, key: string): Promise<TransactionRow | null> {
  const [row] = await em.execute<TransactionRow[]>(
    `select id::text as id, fingerprint, kind, reference, created_at from ${T}.ledger_transactions where idempotency_key = ?`,
    [key],
  );
  return row ?? null;
}

export async function entriesOf(tx: EntityManager, transactionId: string): Promise<EntryRow[]> {
  return tx.execute<EntryRow[]>(
    `select e.id::text as id, a.merchant_id, a.coin_id, a.kind, e.amount::text as amount, e.balance_after::text as balance_after
       from ${T}.ledger_entries e join ${T}.ledger_accounts a on a.id = e.account_id
      where e.transaction_id = ? order by e.id`,
    [transactionId],
  );
}

/** Locks the accounts in id order, the same for every posting, so two postings never wait on each other in a cycle. */
export async function lockAccounts(tx: EntityManager, ids: Iterable<string>): Promise<AccountRow[]> {
  const idList = [...new Set(ids)].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
  return tx.execute<AccountRow[]>(
    `select id::text as id, merchant_id, coin_id, kind, balance::text as balance, allow_negative
       from ${T}.ledger_accounts where id in (${idList.map(() => '?').join(', ')}) order by id for update`,
    idList,
  );
}

/** Sets the account's balance and writes the entry that got it there; returns the entry id. */
export async function writeEntry(tx: EntityManager, accountId: string, transactionId: string, amount: bigint, after: bigint, at: Date): Promise<string> {
  const [written] = await tx.execute<{ id: string }[]>(
    `with upd as (update ${T}.ledger_accounts set balance = ?::numeric where id = ? returning id)
     insert into ${T}.ledger_entries (transaction_id, account_id, amount, balance_after, created_at)
     select ?, upd.id, ?::numeric, ?::numeric, ? from upd returning id::text as id`,
    [after.toString(), accountId, transactionId, amount.toString(), after.toString(), at],
  );
  return written!.id;
}

/**
 * Creates missing account rows in their own short statement, before the posting's transaction:
 * an account is harmless to have, and taking its creation out of the locked section keeps the
 * lock order simple. Idempotent. Returns the ids by accountKey.
 */
export async function ensureAccounts(em: EntityManager, refs: AccountRef[]): Promise<Map<string, string>> {
  const values = refs.map(() => '(?::uuid, ?, ?, ?)').join(', ');
  const params = refs.flatMap((r) => [r.merchantId, r.coinId, r.kind, ALLOW_NEGATIVE[r.kind]]);
  await em.execute(
    `insert into ${T}.ledger_accounts (merchant_id, coin_id, kind, allow_negative) values ${values}
     on conflict on constraint ledger_accounts_one_per_kind do nothing`,
    params,
  );
  const where = refs.map(() => '(merchant_id is not distinct from ?::uuid and coin_id = ? and kind = ?)').join(' or ');
  const rows = await em.execute<{ id: string; merchant_id: string | null; coin_id: string; kind: AccountKind }[]>(
    `select id::text as id, merchant_id, coin_id, kind from ${T}.ledger_accounts where ${where}`,
    refs.flatMap((r) => [r.merchantId, r.coinId, r.kind]),
  );
  const ids = new Map(rows.map((r) => [accountKey({ merchantId: r.merchant_id, coinId: r.coin_id, kind: r.kind }), r.id]));
  if (ids.size !== refs.length) throw new Error('ledger accounts missing after creation');
  return ids;
}
