import { createHash } from 'node:crypto';
import type { EntityManager } from '@cpg/core/db';
import { AppError, conflict } from '@cpg/core/graphql';
import { LedgerReads } from './ledger-reads';
import { claimKey, ensureAccounts, entriesOf, lockAccounts, transactionByKey, writeEntry } from './ledger-store';
import { type AccountRef, type Posting, accountKey, accountsOf, assertPosting, overdrawn, resolvePosting } from './postings';
import { holdKey, releaseHold, withdrawalReference } from './withdrawal-postings';

export type { CoinBalance, HistoryEntry, HistoryPage, LedgerInvariants, ReconcileLine, ReconcileReport, ReconciliationBalance } from './ledger-reads';
export { MAX_PAGE, decodeCursor, encodeCursor } from './ledger-reads';

/** Fingerprint of a hold key taken by a release that found no hold (see releaseWithdrawal). */
export const HOLD_TOMBSTONE = 'tombstone';

export interface PostedEntry {
  id: string;
  account: AccountRef;
  amount: bigint;
  balanceAfter: bigint;
}

export interface PostResult {
  transactionId: string;
  idempotencyKey: string;
  kind: string;
  reference: string;
  createdAt: Date;
  entries: PostedEntry[];
  /** True when the key had been posted before and this call only read the first result. */
  replayed: boolean;
}

/**
 * The fingerprint of what a posting asks for, stored with its key: a repeat of the key with
 * different content is a caller bug (two effects sharing a key), reported as CONFLICT rather than
 * silently answered with the other effect's result.
 */
export function fingerprintOf(p: Posting): string {
  const canon = JSON.stringify({
    kind: p.kind,
    reference: p.reference,
    entries: p.entries.map((e) => [
      accountKey(e.account),
      e.amount.toString(),
      e.shortfallTo ? accountKey(e.shortfallTo) : '',
      e.repays ? accountKey(e.repays) : '',
    ]),
  });
  return createHash('sha256').update(canon).digest('hex');
}

/**
 * The double-entry ledger over this subgraph's schema. Postings come from the deposit, withdrawal
 * and collection consumers and the hold request-reply handler; reads (LedgerReads) serve the
 * Merchant resolvers and the reconciliation RPC. Its SQL is in ./ledger-store.
 * Construct it with a request's EntityManager fork; given an EntityManager already inside a
 * transaction (e.g. the `tx` of applyOnce), `post` joins it through a savepoint.
 */
export class LedgerService extends LedgerReads {
  /**
   * Applies a posting. Called once per business effect (deposit seen, credited, reversed; hold,
   * release, settle), and idempotent by `posting.idempotencyKey`: any number of repeats, also
   * concurrent ones, commit one entry set and all return the first result (`replayed: true`).
   * A repeat whose content differs is CONFLICT; a posting that would take a non-negative
   * account below zero is INSUFFICIENT_FUNDS and leaves no trace, so it may be retried later.
   */
  async post(posting: Posting): Promise<PostResult> {
    assertPosting(posting);
    const fingerprint = fingerprintOf(posting);
    const ids = await ensureAccounts(this.em, accountsOf(posting));
    // Not a fork: a fork would drop an outer transaction and post on another connection, where it
    // could wait forever on account rows the outer transaction created and has not committed.
    return this.em.transactional(async (tx) => {
      // The key row goes in first: a concurrent twin blocks there until this commits or rolls
      // back, and only then reads the outcome, so it never takes account locks it would not use.
      const txRow = await claimKey(tx, posting.idempotencyKey, fingerprint, posting.kind, posting.reference);
      if (!txRow) return this.replay(tx, posting.idempotencyKey, fingerprint);

      const rows = await lockAccounts(tx, ids.values());
      const byKey = new Map(rows.map((r) => [accountKey({ merchantId: r.merchant_id, coinId: r.coin_id, kind: r.kind }), r]));
      const balanceOf = (a: AccountRef) => BigInt(byKey.get(accountKey(a))!.balance);
      const resolved = resolvePosting(posting, balanceOf);
      const short = overdrawn(resolved, balanceOf);
      if (short.length) {
        const a = short[0]!.account;
        throw new AppError('INSUFFICIENT_FUNDS', `insufficient ${a.kind} balance of ${a.coinId} for ${posting.kind}`, { coinId: a.coinId, account: a.kind });
      }

      const entries: PostedEntry[] = [];
      for (const e of resolved) {
        const row = byKey.get(accountKey(e.account))!;
        const after = BigInt(row.balance) + e.amount;
        const id = await writeEntry(tx, row.id, txRow.id, e.amount, after, txRow.created_at);
        entries.push({ id, account: e.account, amount: e.amount, balanceAfter: after });
      }
      return {
        transactionId: txRow.id,
        idempotencyKey: posting.idempotencyKey,
        kind: posting.kind,
        reference: posting.reference,
        createdAt: txRow.created_at,
        entries,
        replayed: false,
      };
    });
  }

  private async replay(tx: EntityManager, key: string, fingerprint: string): Promise<PostResult> {
    const first = await transactionByKey(tx, key);
    if (!first) throw new Error(`ledger transaction ${key} vanished`);
    if (first.fingerprint !== fingerprint) throw conflict('this idempotency key was already used for a different ledger posting', { idempotencyKey: key });
    const rows = await entriesOf(tx, first.id);
    return {
      transactionId: first.id,
      idempotencyKey: key,
      kind: first.kind,
      reference: first.reference,
      createdAt: first.created_at,
      entries: rows.map((r) => ({
        id: r.id,
        account: { merchantId: r.merchant_id, coinId: r.coin_id, kind: r.kind },
        amount: BigInt(r.amount),
        balanceAfter: BigInt(r.balance_after),
      })),
      replayed: true,
    };
  }

  /**
   * Ends a withdrawal's hold (release). When no hold was ever posted for it, a tombstone takes the
   * hold's key instead, so a hold request arriving late (a retried or slow RPC) is refused rather
   * than reserving money for a withdrawal that no longer exists. Idempotent: the release shares
   * the settle key (`:finish`), so a withdrawal ends once.
   * Returns what it did: `released`, `tombstoned` or `already` (ended before).
   */
  async releaseWithdrawal(i: { merchantId: string; coinId: string; withdrawalId: string; amount: bigint }): Promise<'released' | 'tombstoned' | 'already'> {
    const key = holdKey(i.withdrawalId);
    const reference = withdrawalReference(i.withdrawalId);
    // Blocks on a concurrent hold with the same key until it commits or rolls back.
    const tombstoned = await this.em.transactional(async (tx) => (await claimKey(tx, key, HOLD_TOMBSTONE, 'withdrawal_hold_void', reference)) !== null);
    if (tombstoned) return 'tombstoned';
    const hold = await transactionByKey(this.em, key);
    if (hold?.fingerprint === HOLD_TOMBSTONE) return 'already';
    const result = await this.post(releaseHold({ merchantId: i.merchantId, coinId: i.coinId, withdrawalId: i.withdrawalId, held: i.amount }));
    return result.replayed ? 'already' : 'released';
  }
}
