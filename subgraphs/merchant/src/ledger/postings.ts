/**
 * The ledger's posting rules, pure: each business event becomes a list of entries that sums to
 * zero per coin. Nothing here reads the database; the one thing that depends on current balances
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

// ---------------------------------------------------------------------------------------------
// The rules.

export interface DepositRef {
  network: string;
  txHash: string;
  /** Position of the transfer inside the transaction (output index, log index). */
  index: number;
  /**
   * 0 unless the same transfer was reversed by a reorg and then mined again: the tracker bumps
   * it so the re-inclusion gets fresh keys instead of colliding with the reversed ones.
   */
  generation?: number;
}

export interface DepositInput {
  merchantId: string;
  coinId: string;
  deposit: DepositRef;
  /** Base units, > 0. */
  amount: bigint;
}

// Hex hashes arrive in either case depending on the RPC; one transfer must map to one key.
function normalHash(h: string): string {
  return /^(0x)?[0-9a-fA-F]+$/.test(h) ? h.toLowerCase() : h;
}

export function depositReference(d: DepositRef): string {
  if (!d.network || !d.txHash || !Number.isInteger(d.index) || d.index < 0) throw badInput('a deposit is network, txHash and a non-negative index');
  return `deposit:${d.network}:${normalHash(d.txHash)}:${d.index}`;
}

function depositKey(d: DepositRef, effect: 'seen' | 'credit' | 'reversal'): string {
  const g = d.generation ?? 0;
  if (!Number.isInteger(g) || g < 0) throw badInput('generation is a non-negative integer');
  return `${depositReference(d)}${g ? `#${g}` : ''}:${effect}`;
}

function positive(amount: bigint): bigint {
  if (typeof amount !== 'bigint' || amount <= 0n) throw badInput('amount must be greater than zero');
  return amount;
}

const acct = (merchantId: string, coinId: string, kind: AccountKind): AccountRef => ({ merchantId, coinId, kind });

/**
 * The shape of almost every rule: `amount` leaves one of the merchant's accounts for another, in
 * one coin. A credit to `available` always repays debt first; `shortfall` lets the debited
 * account give what it has and book the rest as debt (for money that has already left).
 */
function move(
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

/** A transfer to the merchant's address is in a block but not yet final: visible, not spendable. */
export function depositSeen(i: DepositInput): Posting {
  return move(i, positive(i.amount), 'external_chain', 'pending', {
    idempotencyKey: depositKey(i.deposit, 'seen'),
    kind: 'deposit_seen',
    reference: depositReference(i.deposit),
  });
}

/**
 * Final by the network's confirmations: the money becomes spendable. `wasSeen` says whether
 * `depositSeen` was posted for it (then pending moves to available) or not (straight in).
 * Unsolicited credits share the key, so one transfer is never credited both ways.
 */
export function depositConfirmed(i: DepositInput & { wasSeen: boolean }): Posting {
  return credit(i, 'deposit_confirmed');
}

/** A transfer no payment expected (a late or extra payment to a known address), credited once final. */
export function unsolicitedCredit(i: DepositInput & { wasSeen: boolean }): Posting {
  return credit(i, 'unsolicited');
}

function credit(i: DepositInput & { wasSeen: boolean }, kind: string): Posting {
  return move(i, positive(i.amount), i.wasSeen ? 'pending' : 'external_chain', 'available', {
    idempotencyKey: depositKey(i.deposit, 'credit'),
    kind,
    reference: depositReference(i.deposit),
  });
}

/** The block that carried a seen, not yet credited deposit was orphaned: the pending amount goes back. */
export function depositReorgedBeforeCredit(i: DepositInput): Posting {
  return move(i, positive(i.amount), 'pending', 'external_chain', {
    idempotencyKey: depositKey(i.deposit, 'reversal'),
    kind: 'deposit_reversed',
    reference: depositReference(i.deposit),
  });
}

/** A credited deposit vanished in a reorg deeper than the confirmations: take it back, what is gone becomes debt. */
export function depositReorgedAfterCredit(i: DepositInput): Posting {
  return move(
    i,
    positive(i.amount),
    'available',
    'external_chain',
    { idempotencyKey: depositKey(i.deposit, 'reversal'), kind: 'deposit_reversed', reference: depositReference(i.deposit) },
    { shortfall: true },
  );
}

// Compliance decisions on deposits (KYT). A credit is spendable only once compliance has decided
// on its sender: until then it sits in `held` (deposit_pending_screening). One effect of each kind
// per deposit reference (clear, hold, release, block); the consumers decide under a per-deposit
// lock which of these applies (see ./screening), so any order of credit and decisions ends with
// the credit where the latest decision puts it.

export type ComplianceEffect = 'compliance_hold' | 'compliance_release' | 'compliance_clear' | 'compliance_block';

export function complianceKey(d: DepositRef, effect: ComplianceEffect): string {
  return `${depositReference(d)}:${effect}`;
}

/**
 * The deposit was already credited: its amount leaves available for held (what is already spent
 * becomes debt). `effect` is compliance_block only for a BLOCK that overtook its HOLD.
 */
export function complianceHoldCredited(i: DepositInput, effect: 'compliance_hold' | 'compliance_block' = 'compliance_hold'): Posting {
  return move(
    i,
    positive(i.amount),
    'available',
    'held',
    { idempotencyKey: complianceKey(i.deposit, effect), kind: 'compliance_hold', reference: depositReference(i.deposit) },
    { shortfall: true },
  );
}

/**
 * A hold or release recorded before any credit: it moves nothing (its entries net to zero and
 * are not written) but its key tells the credit, when it comes, where to go.
 */
export function complianceMarker(i: DepositInput, effect: ComplianceEffect): Posting {
  const amount = positive(i.amount);
  return {
    idempotencyKey: complianceKey(i.deposit, effect),
    kind: `${effect}_marker`,
    reference: depositReference(i.deposit),
    entries: [
      { account: acct(i.merchantId, i.coinId, 'held'), amount },
      { account: acct(i.merchantId, i.coinId, 'held'), amount: -amount },
    ],
  };
}

/** resolveAlert(ALLOW) on a credited deposit: held goes to available. */
export function complianceReleaseCredited(i: DepositInput): Posting {
  return move(i, positive(i.amount), 'held', 'available', {
    idempotencyKey: complianceKey(i.deposit, 'compliance_release'),
    kind: 'compliance_release',
    reference: depositReference(i.deposit),
  });
}

/**
 * A deposit becomes final before compliance has decided on its sender: credited to held, where
 * no withdrawal can take it, until a CLEAR or RELEASE moves it to available (same key as any credit).
 */
export function depositPendingScreening(i: DepositInput & { wasSeen: boolean }): Posting {
  return move(i, positive(i.amount), i.wasSeen ? 'pending' : 'external_chain', 'held', {
    idempotencyKey: depositKey(i.deposit, 'credit'),
    kind: 'deposit_pending_screening',
    reference: depositReference(i.deposit),
  });
}

/** Compliance screened the sender of a credited, not yet decided deposit ALLOW: held goes to available. */
export function complianceClearCredited(i: DepositInput): Posting {
  return move(i, positive(i.amount), 'held', 'available', {
    idempotencyKey: complianceKey(i.deposit, 'compliance_clear'),
    kind: 'compliance_clear',
    reference: depositReference(i.deposit),
  });
}

/** A deposit under a compliance hold becomes final: credited to held, not available (same key as any credit). */
export function depositConfirmedHeld(i: DepositInput & { wasSeen: boolean }): Posting {
  return move(i, positive(i.amount), i.wasSeen ? 'pending' : 'external_chain', 'held', {
    idempotencyKey: depositKey(i.deposit, 'credit'),
    kind: 'deposit_confirmed_held',
    reference: depositReference(i.deposit),
  });
}

/** A credited deposit under a compliance hold vanished in a reorg: taken back from held. */
export function depositReorgedWhileHeld(i: DepositInput): Posting {
  return move(
    i,
    positive(i.amount),
    'held',
    'external_chain',
    { idempotencyKey: depositKey(i.deposit, 'reversal'), kind: 'deposit_reversed', reference: depositReference(i.deposit) },
    { shortfall: true },
  );
}

export interface WithdrawalInput {
  merchantId: string;
  coinId: string;
  withdrawalId: string;
}

export function withdrawalReference(id: string): string {
  if (!id || id.length > 100) throw badInput('withdrawal id must be 1 to 100 characters');
  return `withdrawal:${id}`;
}

/** Reserves amount plus the fee budget so the withdrawal cannot be spent twice; refused when available does not cover it. */
export function holdForWithdrawal(i: WithdrawalInput & { amount: bigint }): Posting {
  return move(i, positive(i.amount), 'available', 'held', {
    idempotencyKey: holdKey(i.withdrawalId),
    kind: 'withdrawal_hold',
    reference: withdrawalReference(i.withdrawalId),
  });
}

// Release and settle share one key: a withdrawal ends once, either way, never both.
const finishKey = (id: string) => `${withdrawalReference(id)}:finish`;

/** The withdrawal was rejected or failed before broadcast: the whole hold goes back. */
export function releaseHold(i: WithdrawalInput & { held: bigint }): Posting {
  return move(i, positive(i.held), 'held', 'available', {
    idempotencyKey: finishKey(i.withdrawalId),
    kind: 'withdrawal_release',
    reference: withdrawalReference(i.withdrawalId),
  });
}

/**
 * The withdrawal is final on chain: `sent` left to the recipient, `fee` went to the network, and
 * what the fee budget did not use returns to available. The fee is in this coin, so for a token
 * whose gas is paid in the native coin it is 0 here.
 */
export function settleHold(i: WithdrawalInput & { held: bigint; sent: bigint; fee: bigint }): Posting {
  const held = positive(i.held);
  const sent = positive(i.sent);
  if (typeof i.fee !== 'bigint' || i.fee < 0n) throw badInput('fee must be zero or more');
  const rest = held - sent - i.fee;
  if (rest < 0n) throw badInput('sent plus fee exceeds the hold');
  const entries: EntrySpec[] = [
    { account: acct(i.merchantId, i.coinId, 'held'), amount: -held },
    { account: acct(i.merchantId, i.coinId, 'external_chain'), amount: sent },
  ];
  if (i.fee > 0n) entries.push({ account: acct(i.merchantId, i.coinId, 'external_fees'), amount: i.fee });
  if (rest > 0n) entries.push({ account: acct(i.merchantId, i.coinId, 'available'), amount: rest, repays: acct(i.merchantId, i.coinId, 'debt') });
  return { idempotencyKey: finishKey(i.withdrawalId), kind: 'withdrawal_settled', reference: withdrawalReference(i.withdrawalId), entries };
}

/** Key of a withdrawal's hold posting: also where a release with no hold leaves its tombstone. */
export function holdKey(withdrawalId: string): string {
  return `${withdrawalReference(withdrawalId)}:hold`;
}

/**
 * Fee policy: a withdrawal's share of its batch's network fee is paid from the merchant's
 * available balance of the network's native coin (the hold covered the amount only, because the
 * fee is known once the transaction is mined). It is never refused: what available cannot cover
 * becomes debt, repaid by the next inflow, because the fee has already left the chain.
 */
export function chargeWithdrawalFee(i: WithdrawalInput & { fee: bigint }): Posting {
  return move(
    i,
    positive(i.fee),
    'available',
    'external_fees',
    { idempotencyKey: `${withdrawalReference(i.withdrawalId)}:fee`, kind: 'withdrawal_fee', reference: withdrawalReference(i.withdrawalId) },
    { shortfall: true },
  );
}

// Collection (the collector's sweeps and gas top-ups between the merchant's own addresses).

export interface CollectionFeeInput {
  merchantId: string;
  /** The network's native coin: what the fee was paid in. */
  coinId: string;
  /** The collector step (one transaction) that paid it. */
  stepId: string;
  fee: bigint;
}

export function collectionReference(stepId: string): string {
  if (!stepId || stepId.length > 100) throw badInput('collection step id must be 1 to 100 characters');
  return `collection:${stepId}`;
}

/** Key of a collection step's fee posting: one per step, whatever message carries it. */
export function collectionFeeKey(stepId: string): string {
  return `${collectionReference(stepId)}:fee`;
}

/**
 * Fee policy for collection: a sweep or gas top-up moves money between the merchant's own
 * addresses, so only its network fee leaves the merchant's funds. The fee a step's transaction
 * paid (exact, known once it is final on chain) comes out of the merchant's available balance of
 * the network's native coin, like a withdrawal's fee (chargeWithdrawalFee): never refused, what
 * available cannot cover becomes debt, repaid by the next inflow, because the fee has already left
 * the chain. The amount moved itself is not posted: it stays the merchant's.
 */
export function chargeCollectionFee(i: CollectionFeeInput): Posting {
  return move(
    i,
    positive(i.fee),
    'available',
    'external_fees',
    { idempotencyKey: collectionFeeKey(i.stepId), kind: 'collection_fee', reference: collectionReference(i.stepId) },
    { shortfall: true },
  );
}

/** Key of a cold forward's custody posting: one per collector step, whatever message carries it. */
export function coldForwardKey(stepId: string): string {
  return `${collectionReference(stepId)}:custody`;
}

/**
 * A cold forward (the collector's step from the merchant's USER addresses to its COLD wallet) is
 * confirmed on chain: the amount left the hot side for cold storage, which holds no keys here. It
 * moves from available to `custody`, which the merchant sees but no withdrawal can take (a hold
 * takes from available only). Never refused: the money has already left, so what available cannot
 * cover becomes debt (it was held or pending in the books while the chain still had it).
 * Reversing a cold forward after a reorg is not handled (the collector reports a step once final).
 */
export function coldForward(i: { merchantId: string; coinId: string; stepId: string; amount: bigint }): Posting {
  return move(
    i,
    positive(i.amount),
    'available',
    'custody',
    { idempotencyKey: coldForwardKey(i.stepId), kind: 'cold_forward', reference: collectionReference(i.stepId) },
    { shortfall: true },
  );
}
