import { IsolationLevel } from '@mikro-orm/core';
import type { EntityManager } from '@cpg/core/db';
import { badInput } from '@cpg/core/graphql';
import { SCHEMA } from '../../migrations';
import { ALLOW_NEGATIVE, type AccountKind, MERCHANT_SIDE_KINDS } from './postings';

const T = `"${SCHEMA}"`;

export interface CoinBalance {
  coinId: string;
  pending: bigint;
  available: bigint;
  held: bigint;
  /** Zero or negative: what a reversal after crediting could not take from available. */
  debt: bigint;
  /** Forwarded to the merchant's cold wallets (outside the hot side): shown, never spendable here. */
  custody: bigint;
}

/** Every account of one merchant for one coin, and the collection fees charged to it (reconciliation). */
export interface ReconciliationBalance extends CoinBalance {
  externalChain: bigint;
  externalFees: bigint;
  /** The part of externalFees charged for the collector's sweeps and top-ups (`collection_fee`). */
  collectionFees: bigint;
}

/** Counts of rows breaking a ledger invariant; all zero when the books are sound. */
export interface LedgerInvariants {
  ok: boolean;
  /** Transactions whose entries do not sum to zero for some coin. */
  unbalancedTransactions: number;
  /** Accounts on the wrong side of zero for their kind (debt may only be negative; the external ones may be anything). */
  negativeAccounts: number;
  /** Accounts whose stored balance differs from the sum of their entries or from their newest balance_after. */
  mismatchedBalances: number;
}

export interface HistoryEntry {
  id: string;
  coinId: string;
  accountKind: AccountKind;
  amount: bigint;
  balanceAfter: bigint;
  /** The transaction's kind, e.g. "deposit_confirmed". */
  kind: string;
  reference: string;
  createdAt: Date;
}

export interface HistoryPage {
  entries: HistoryEntry[];
  hasNextPage: boolean;
  endCursor: string | null;
}

export interface ReconcileLine {
  kind: AccountKind;
  stored: bigint;
  entriesSum: bigint;
  /** balance_after of the account's newest entry; 0 when it has none. */
  lastBalanceAfter: bigint;
  matches: boolean;
}

export interface ReconcileReport {
  merchantId: string;
  coinId: string;
  accounts: ReconcileLine[];
  matches: boolean;
}

export const MAX_PAGE = 200;

// Opaque to clients so the ordering key may change without breaking the cursor's format.
export function encodeCursor(entryId: string): string {
  return Buffer.from(`le:${entryId}`, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): string {
  const bad = () => badInput('after is not a cursor returned by this API', { field: 'after' });
  if (cursor.length > 64 || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw bad();
  const m = /^le:([1-9][0-9]{0,18})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!m) throw bad();
  return m[1]!;
}

/**
 * What the ledger reads: balances, history, reconciliation and invariants, each one read-only
 * statement (or one snapshot), so idempotent and safe to run any time; none takes a lock, so a
 * read may trail a posting in flight. The write path is LedgerService (./ledger-service).
 */
export class LedgerReads {
  constructor(protected readonly em: EntityManager) {}

  /**
   * Called by `Merchant.balances`: one row per coin the merchant has entries in. Read-only, so
   * idempotent; reads committed balances without locking, so it may trail a posting in flight.
   */
  async balances(merchantId: string): Promise<CoinBalance[]> {
    const rows = await this.em.execute<{ coin_id: string; kind: AccountKind; balance: string }[]>(
      `select a.coin_id, a.kind, a.balance::text as balance from ${T}.ledger_accounts a
        where a.merchant_id = ? and a.kind in (${MERCHANT_SIDE_KINDS.map(() => '?').join(', ')})
          and exists (select 1 from ${T}.ledger_entries e where e.account_id = a.id)
        order by a.coin_id`,
      [merchantId, ...MERCHANT_SIDE_KINDS],
    );
    const out = new Map<string, CoinBalance>();
    for (const r of rows) {
      const b = out.get(r.coin_id) ?? { coinId: r.coin_id, pending: 0n, available: 0n, held: 0n, debt: 0n, custody: 0n };
      b[r.kind as 'pending' | 'available' | 'held' | 'debt' | 'custody'] = BigInt(r.balance);
      out.set(r.coin_id, b);
    }
    return [...out.values()];
  }

  /**
   * Per coin, the part of `held` that is confirmed deposits compliance has not decided on yet:
   * credits posted as deposit_pending_screening with no later posting on the same deposit (a
   * decision or a reversal ends the wait). Read-only.
   */
  async pendingScreening(merchantId: string): Promise<Map<string, bigint>> {
    const rows = await this.em.execute<{ coin_id: string; amount: string }[]>(
      `select a.coin_id, sum(e.amount)::text as amount
         from ${T}.ledger_accounts a
         join ${T}.ledger_entries e on e.account_id = a.id
         join ${T}.ledger_transactions t on t.id = e.transaction_id
        where a.merchant_id = ? and a.kind = 'held' and t.kind = 'deposit_pending_screening'
          and not exists (select 1 from ${T}.ledger_transactions later where later.reference = t.reference and later.id > t.id)
        group by a.coin_id`,
      [merchantId],
    );
    return new Map(rows.map((r) => [r.coin_id, BigInt(r.amount)]));
  }

  /** `Merchant.balances`: balances and their part pending screening from one snapshot, so the part never exceeds held. */
  async balancesWithScreening(merchantId: string): Promise<(CoinBalance & { pendingScreening: bigint })[]> {
    return this.em.fork().transactional(
      async (tx) => {
        const ledger = new LedgerReads(tx);
        const balances = await ledger.balances(merchantId);
        const pending = await ledger.pendingScreening(merchantId);
        return balances.map((b) => ({ ...b, pendingScreening: pending.get(b.coinId) ?? 0n }));
      },
      { isolationLevel: IsolationLevel.REPEATABLE_READ, readOnly: true },
    );
  }

  /**
   * Called by `Merchant.ledger`: the merchant's side of the ledger, newest first. Read-only, so
   * idempotent. Pages are cut by entry id, so entries posted while a client pages never shift or
   * repeat what it sees.
   * (Ids are drawn before commit, so a posting that commits while a page is read can land just
   * behind the cursor; it is still counted in balances and reconcile.)
   */
  async history(merchantId: string, opts: { first?: number | null; after?: string | null; coinId?: string | null } = {}): Promise<HistoryPage> {
    const first = opts.first ?? 50;
    if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE) throw badInput(`first must be from 1 to ${MAX_PAGE}`, { field: 'first' });
    const before = opts.after ? decodeCursor(opts.after) : null;
    const params: unknown[] = [merchantId, ...MERCHANT_SIDE_KINDS];
    let filter = '';
    if (opts.coinId) {
      filter += ' and a.coin_id = ?';
      params.push(opts.coinId);
    }
    if (before) {
      filter += ' and e.id < ?';
      params.push(before);
    }
    params.push(first + 1);
    const rows = await this.em.execute<
      { id: string; coin_id: string; account_kind: AccountKind; amount: string; balance_after: string; kind: string; reference: string; created_at: Date }[]
    >(
      `select e.id::text as id, a.coin_id, a.kind as account_kind, e.amount::text as amount, e.balance_after::text as balance_after,
              t.kind, t.reference, e.created_at
         from ${T}.ledger_entries e
         join ${T}.ledger_accounts a on a.id = e.account_id
         join ${T}.ledger_transactions t on t.id = e.transaction_id
        where a.merchant_id = ? and a.kind in (${MERCHANT_SIDE_KINDS.map(() => '?').join(', ')})${filter}
        order by e.id desc
        limit ?`,
      params,
    );
    const page = rows.slice(0, first);
    return {
      entries: page.map((r) => ({
        id: r.id,
        coinId: r.coin_id,
        accountKind: r.account_kind,
        amount: BigInt(r.amount),
        balanceAfter: BigInt(r.balance_after),
        kind: r.kind,
        reference: r.reference,
        createdAt: new Date(r.created_at),
      })),
      hasNextPage: rows.length > first,
      endCursor: page.length ? encodeCursor(page[page.length - 1]!.id) : null,
    };
  }

  /**
   * Checks each of the merchant's accounts for one coin (their own and their external ones):
   * the stored balance must equal the sum of its entries and its newest entry's balance_after.
   * Called by operator checks and tests; read-only, so idempotent and safe to run any time.
   */
  async reconcile(merchantId: string, coinId: string): Promise<ReconcileReport> {
    // One statement, one snapshot: balances and entries are seen at the same instant.
    const rows = await this.em.execute<{ kind: AccountKind; balance: string; total: string; last: string | null }[]>(
      `select a.kind, a.balance::text as balance,
              coalesce((select sum(e.amount) from ${T}.ledger_entries e where e.account_id = a.id), 0)::text as total,
              (select e.balance_after::text from ${T}.ledger_entries e where e.account_id = a.id order by e.id desc limit 1) as last
         from ${T}.ledger_accounts a
        where a.merchant_id = ? and a.coin_id = ?
        order by a.kind`,
      [merchantId, coinId],
    );
    const accounts = rows.map((r) => {
      const stored = BigInt(r.balance);
      const entriesSum = BigInt(r.total);
      const lastBalanceAfter = BigInt(r.last ?? '0');
      return { kind: r.kind, stored, entriesSum, lastBalanceAfter, matches: stored === entriesSum && stored === lastBalanceAfter };
    });
    return { merchantId, coinId, accounts, matches: accounts.every((a) => a.matches) };
  }
  /**
   * The whole ledger's invariants in one read-only statement (one snapshot), for the operator and
   * the tests. Which kinds may go below zero comes from ALLOW_NEGATIVE, so a new kind cannot be
   * forgotten here.
   */
  async invariants(): Promise<LedgerInvariants> {
    const mayBeNegative = (Object.keys(ALLOW_NEGATIVE) as AccountKind[]).filter((k) => ALLOW_NEGATIVE[k]);
    const [row] = await this.em.execute<{ unbalanced: number; negative: number; mismatched: number }[]>(
      `with per_tx as (
         select e.transaction_id
           from ${T}.ledger_entries e
           join ${T}.ledger_accounts a on a.id = e.account_id
          group by e.transaction_id, a.coin_id
         having sum(e.amount) <> 0
       ), per_account as (
         select a.kind, a.balance,
                coalesce((select sum(e.amount) from ${T}.ledger_entries e where e.account_id = a.id), 0) as total,
                coalesce((select e.balance_after from ${T}.ledger_entries e where e.account_id = a.id order by e.id desc limit 1), 0) as last
           from ${T}.ledger_accounts a
       )
       select (select count(distinct transaction_id) from per_tx)::int as unbalanced,
              (select count(*) from per_account
                where (balance < 0 and kind not in (${mayBeNegative.map(() => '?').join(', ')}))
                   or (kind = 'debt' and balance > 0))::int as negative,
              (select count(*) from per_account where balance <> total or balance <> last)::int as mismatched`,
      mayBeNegative,
    );
    const unbalancedTransactions = Number(row?.unbalanced ?? 0);
    const negativeAccounts = Number(row?.negative ?? 0);
    const mismatchedBalances = Number(row?.mismatched ?? 0);
    return { ok: unbalancedTransactions + negativeAccounts + mismatchedBalances === 0, unbalancedTransactions, negativeAccounts, mismatchedBalances };
  }

  /**
   * Every account of the merchant per coin (their own and the external ones) and what collection
   * fees have been charged per coin, for reconciliation with the chain (`ledger.balances`).
   * Read-only, one statement (one snapshot), no locks: it may trail a posting in flight.
   */
  async reconciliationBalances(merchantId: string): Promise<ReconciliationBalance[]> {
    const rows = await this.em.execute<{ coin_id: string; kind: AccountKind; balance: string; collection_fees: string }[]>(
      `select a.coin_id, a.kind, a.balance::text as balance,
              coalesce((select sum(e.amount) from ${T}.ledger_entries e join ${T}.ledger_transactions t on t.id = e.transaction_id
                         where e.account_id = a.id and t.kind = 'collection_fee'), 0)::text as collection_fees
         from ${T}.ledger_accounts a
        where a.merchant_id = ?
        order by a.coin_id, a.kind`,
      [merchantId],
    );
    const out = new Map<string, ReconciliationBalance>();
    for (const r of rows) {
      const b = out.get(r.coin_id) ?? {
        coinId: r.coin_id,
        available: 0n,
        pending: 0n,
        held: 0n,
        debt: 0n,
        custody: 0n,
        externalChain: 0n,
        externalFees: 0n,
        collectionFees: 0n,
      };
      const field = ({ external_chain: 'externalChain', external_fees: 'externalFees' } as Record<string, string>)[r.kind] ?? r.kind;
      (b as unknown as Record<string, bigint>)[field] = BigInt(r.balance);
      if (r.kind === 'external_fees') b.collectionFees = BigInt(r.collection_fees);
      out.set(r.coin_id, b);
    }
    return [...out.values()];
  }
}
