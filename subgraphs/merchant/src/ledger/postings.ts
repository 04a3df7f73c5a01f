/**
 * The ledger's postings, pure: each business event becomes a list of entries that sums to zero
 * per coin. This file holds the accounts, the checks and the resolution of directives; the rules
 * per flow are in ./deposit-postings, ./withdrawal-postings and ./collection-postings. Nothing here reads the database; the one thing that depends on current balances
 * (how much of a reversal the merchant can still cover, how much of a credit repays debt) is
 * expressed as a directive on the entry and settled by `resolvePosting` under the row locks.
 *
 * Signs: an account's balance is the sum of its entries. The merchant's accounts (pending,
 * available, held) are what the gateway owes the merchant, so they are positive. `external_chain`
 * is the other side of every on-chain movement: negative by what has come in from the chain, so
 * `-(external_chain + external_fees)` is what the merchant's addresses should hold on chain. Each
 * merchant has their own external accounts because funds are never pooled: a merchant's books
 * balance and reconcile with the chain without looking at anyone else's.
 *
 * Reorg after credit (the money may already be withdrawn): the available balance is never pushed
 * below zero. The reversal takes what available still covers and books the rest as `debt`, a
 * negative-only account meaning "the merchant owes this". This is the receivable that card and
 * payout ledgers keep for chargebacks on paid-out funds: the loss stays visible as its own line
 * instead of hiding inside a negative spendable balance that would let holds be judged against
 * money that does not exist. Every later inflow to available repays debt first.
 */
import { badInput } from '@cpg/core/graphql';

export const ACCOUNT_KINDS = ['pending', 'available', 'held', 'debt', 'custody', 'external_chain', 'external_fees'] as const;
export type AccountKind = (typeof ACCOUNT_KINDS)[number];

/** The merchant's own accounts: what balances and history show. The external ones are the gateway's view of the chain. */
export const MERCHANT_SIDE_KINDS: readonly AccountKind[] = ['pending', 'available', 'held', 'debt', 'custody'];

/** Which accounts may go below zero. Debt is the only merchant account that may, and only downwards. */
export const ALLOW_NEGATIVE: Record<AccountKind, boolean> = {
  pending: false,
  available: false,
  held: false,
  debt: true,
  custody: false,
  external_chain: true,
  external_fees: true,
};

export interface AccountRef {
  /** Null for accounts of the gateway itself (none of the rules below use one yet). */
  merchantId: string | null;
  coinId: string;
  kind: AccountKind;
}

export interface EntrySpec {
  account: AccountRef;
  /** Signed base units; never zero. */
  amount: bigint;
  /**
   * Only on a debit of a non-negative account: the part the account cannot cover without going
   * below zero is taken from this (negative-allowed) account instead.
   */
  shortfallTo?: AccountRef;
  /** Only on a credit: while this account is negative, the credit repays it first. */
  repays?: AccountRef;
}

export interface Posting {
  /** One effect, one key: a repeat of the key is the same effect and posts nothing new. */
  idempotencyKey: string;
  /** e.g. "deposit_confirmed"; lower snake case. */
  kind: string;
  /** What the posting is about, shared by every posting of one deposit or withdrawal. */
  reference: string;
  entries: EntrySpec[];
}

export interface ResolvedEntry {
  account: AccountRef;
  amount: bigint;
}

export function accountKey(a: AccountRef): string {
  return `${a.merchantId ?? '-'}|${a.coinId}|${a.kind}`;
}

const KIND = /^[a-z][a-z0-9_]{0,62}$/;
const MAX_TEXT = 300;

/** Refuses a malformed posting before it reaches SQL; the spec-level sum is checked here, the resolved one by the database. */
export function assertPosting(p: Posting): void {
  if (typeof p.idempotencyKey !== 'string' || p.idempotencyKey.length < 1 || p.idempotencyKey.length > MAX_TEXT)
    throw badInput('idempotency key must be 1 to 300 characters');
  if (typeof p.reference !== 'string' || p.reference.length < 1 || p.reference.length > MAX_TEXT) throw badInput('reference must be 1 to 300 characters');
  if (!KIND.test(p.kind)) throw badInput(`posting kind "${p.kind}" must be lower snake case`);
  if (!p.entries.length) throw badInput('a posting needs entries');
  for (const e of p.entries) {
    if (typeof e.amount !== 'bigint' || e.amount === 0n) throw badInput('entry amounts are non-zero bigint base units');
    if (!(ACCOUNT_KINDS as readonly string[]).includes(e.account.kind)) throw badInput(`unknown account kind ${String(e.account.kind)}`);
    if (!e.account.coinId) throw badInput('entry without a coin');
    for (const other of [e.shortfallTo, e.repays]) {
      if (other && (other.coinId !== e.account.coinId || other.merchantId !== e.account.merchantId || !ALLOW_NEGATIVE[other.kind])) {
        throw badInput('shortfall and repayment go to a negative-allowed account of the same merchant and coin');
      }
    }
    if (e.shortfallTo && e.amount > 0n) throw badInput('shortfallTo only applies to debits');
    if (e.repays && e.amount < 0n) throw badInput('repays only applies to credits');
  }
  for (const [coin, total] of sumsByCoin(p.entries)) {
    if (total !== 0n) throw badInput(`posting ${p.kind} does not balance for ${coin}: entries sum to ${total}`);
  }
}

export function sumsByCoin(entries: readonly { account: AccountRef; amount: bigint }[]): Map<string, bigint> {
  const sums = new Map<string, bigint>();
  for (const e of entries) sums.set(e.account.coinId, (sums.get(e.account.coinId) ?? 0n) + e.amount);
  return sums;
}

/** Every account a posting may touch, deduplicated and in one global order so row locks never deadlock. */
export function accountsOf(p: Posting): AccountRef[] {
  const all = new Map<string, AccountRef>();
  for (const e of p.entries) {
    for (const a of [e.account, e.shortfallTo, e.repays]) if (a) all.set(accountKey(a), a);
  }
  return [...all.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, a]) => a);
}

/**
 * Turns directives into plain entries given the balances read under lock, nets them to one entry
 * per account and drops zeros. The sum per coin is unchanged by construction: a shortfall moves
 * part of a debit to another account, a repayment part of a credit.
 */
export function resolvePosting(p: Posting, balanceOf: (a: AccountRef) => bigint): ResolvedEntry[] {
  const delta = new Map<string, { account: AccountRef; amount: bigint }>();
  const add = (account: AccountRef, amount: bigint) => {
    const k = accountKey(account);
    const cur = delta.get(k);
    if (cur) cur.amount += amount;
    else delta.set(k, { account, amount });
  };
  const now = (a: AccountRef) => balanceOf(a) + (delta.get(accountKey(a))?.amount ?? 0n);
  for (const e of p.entries) {
    if (e.shortfallTo) {
      const covered = min(-e.amount, max(now(e.account), 0n));
      add(e.account, -covered);
      if (-e.amount - covered > 0n) add(e.shortfallTo, -(-e.amount - covered));
    } else if (e.repays) {
      const owed = max(-now(e.repays), 0n);
      const repaid = min(e.amount, owed);
      if (repaid > 0n) add(e.repays, repaid);
      add(e.account, e.amount - repaid);
    } else {
      add(e.account, e.amount);
    }
  }
  return [...delta.values()].filter((d) => d.amount !== 0n).sort((a, b) => (accountKey(a.account) < accountKey(b.account) ? -1 : 1));
}

/** Accounts the resolved entries would push below zero although they must not go there. */
export function overdrawn(entries: readonly ResolvedEntry[], balanceOf: (a: AccountRef) => bigint): ResolvedEntry[] {
  return entries.filter((e) => !ALLOW_NEGATIVE[e.account.kind] && balanceOf(e.account) + e.amount < 0n);
}

const min = (a: bigint, b: bigint) => (a < b ? a : b);
const max = (a: bigint, b: bigint) => (a > b ? a : b);

// Shared by the rule files (deposit-, withdrawal-, collection-postings).

export function positive(amount: bigint): bigint {
  if (typeof amount !== 'bigint' || amount <= 0n) throw badInput('amount must be greater than zero');
  return amount;
}

export const acct = (merchantId: string, coinId: string, kind: AccountKind): AccountRef => ({ merchantId, coinId, kind });

/** The reference of a withdrawal's or a collector step's postings; bounded so the keys built on it stay within assertPosting's limit. */
export function subjectReference(flow: string, id: string, idName: string): string {
  if (!id || id.length > 100) throw badInput(`${idName} must be 1 to 100 characters`);
  return `${flow}:${id}`;
}

/**
 * The shape of almost every rule: `amount` leaves one of the merchant's accounts for another, in
 * one coin. A credit to `available` always repays debt first; `shortfall` lets the debited
 * account give what it has and book the rest as debt (for money that has already left).
 */
export function move(
  i: { merchantId: string; coinId: string },
  amount: bigint,
  from: AccountKind,
  to: AccountKind,
  meta: Omit<Posting, 'entries'>,
  opts: { shortfall?: boolean } = {},
): Posting {
  const debt = acct(i.merchantId, i.coinId, 'debt');
  return {
    ...meta,
    entries: [
      { account: acct(i.merchantId, i.coinId, from), amount: -amount, ...(opts.shortfall ? { shortfallTo: debt } : {}) },
      { account: acct(i.merchantId, i.coinId, to), amount, ...(to === 'available' ? { repays: debt } : {}) },
    ],
  };
}
