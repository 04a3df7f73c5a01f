/**
 * The ledger effects of deposits, as postings. The payment subgraph decides which effect applies
 * and where a credit sits (see `payment.deposit_ledger`); these rules only turn each effect into
 * its entries and its key. Keys are built from the deposit's structured reference and spell
 * exactly what they always did (`deposit:<network>:<txHash>:<index>[#<generation>]:<effect>`),
 * with the hash as the catalogue normalised it, so a posting from before the catalogue carried a
 * DepositRef is found again by its key and never posted twice.
 */
import type { DecisionEffect, DepositLedgerEffect, DepositRef as CatalogueDepositRef } from '@cpg/core/bus';
import { badInput } from '@cpg/core/graphql';
import { type AccountKind, type Posting, acct, move, positive } from './postings';

/** What a deposit's keys are made of: the catalogue's DepositRef (its generation 0 when absent). */
export type DepositRef = Pick<CatalogueDepositRef, 'network' | 'txHash' | 'index'> & { generation?: number };

export interface DepositInput {
  merchantId: string;
  coinId: string;
  deposit: DepositRef;
  /** Base units, > 0. */
  amount: bigint;
}

export function depositReference(d: DepositRef): string {
  if (!d.network || !d.txHash || !Number.isInteger(d.index) || d.index < 0) throw badInput('a deposit is network, txHash and a non-negative index');
  return `deposit:${d.network}:${d.txHash}:${d.index}`;
}

type DepositEffect = 'seen' | 'credit' | 'reversal';

function depositKey(d: DepositRef, effect: DepositEffect): string {
  const g = d.generation ?? 0;
  if (!Number.isInteger(g) || g < 0) throw badInput('generation is a non-negative integer');
  return `${depositReference(d)}${g ? `#${g}` : ''}:${effect}`;
}

/** The deposit's amount moves under the key of one of its effects; a new generation is a new effect. */
function depositMove(i: DepositInput, effect: DepositEffect, kind: string, from: AccountKind, to: AccountKind, opts?: { shortfall?: boolean }): Posting {
  return move(i, positive(i.amount), from, to, { idempotencyKey: depositKey(i.deposit, effect), kind, reference: depositReference(i.deposit) }, opts);
}

/** A transfer to the merchant's address is in a block but not yet final: visible, not spendable. */
export function depositSeen(i: DepositInput): Posting {
  return depositMove(i, 'seen', 'deposit_seen', 'external_chain', 'pending');
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

/** Every credit of a final deposit shares one key, wherever it goes, so a transfer is credited once. */
function credit(i: DepositInput & { wasSeen: boolean }, kind: string, to: 'available' | 'held' = 'available'): Posting {
  return depositMove(i, 'credit', kind, i.wasSeen ? 'pending' : 'external_chain', to);
}

/** The block that carried a seen, not yet credited deposit was orphaned: the pending amount goes back. */
export function depositReorgedBeforeCredit(i: DepositInput): Posting {
  return depositMove(i, 'reversal', 'deposit_reversed', 'pending', 'external_chain');
}

/** A credited deposit vanished in a reorg deeper than the confirmations: take it back, what is gone becomes debt. */
export function depositReorgedAfterCredit(i: DepositInput): Posting {
  return depositMove(i, 'reversal', 'deposit_reversed', 'available', 'external_chain', { shortfall: true });
}

// Compliance decisions on deposits (KYT). A credit is spendable only once compliance has decided
// on its sender: until then it sits in `held` (deposit_pending_screening). One effect of each kind
// per deposit reference (clear, hold, release, block), whatever the generation; the payment
// subgraph says whether it moves the live credit or only records the decision (a marker).

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
  return heldToAvailable(i, 'compliance_release');
}

/**
 * A deposit becomes final before compliance has decided on its sender: credited to held, where
 * no withdrawal can take it, until a CLEAR or RELEASE moves it to available (same key as any credit).
 */
export function depositPendingScreening(i: DepositInput & { wasSeen: boolean }): Posting {
  return credit(i, 'deposit_pending_screening', 'held');
}

/** Compliance screened the sender of a credited, not yet decided deposit ALLOW: held goes to available. */
export function complianceClearCredited(i: DepositInput): Posting {
  return heldToAvailable(i, 'compliance_clear');
}

function heldToAvailable(i: DepositInput, effect: 'compliance_release' | 'compliance_clear'): Posting {
  return move(i, positive(i.amount), 'held', 'available', {
    idempotencyKey: complianceKey(i.deposit, effect),
    kind: effect,
    reference: depositReference(i.deposit),
  });
}

/** A deposit under a compliance hold becomes final: credited to held, not available (same key as any credit). */
export function depositConfirmedHeld(i: DepositInput & { wasSeen: boolean }): Posting {
  return credit(i, 'deposit_confirmed_held', 'held');
}

/** A credited deposit under a compliance hold vanished in a reorg: taken back from held. */
export function depositReorgedWhileHeld(i: DepositInput): Posting {
  return depositMove(i, 'reversal', 'deposit_reversed', 'held', 'external_chain', { shortfall: true });
}

const COMPLIANCE_EFFECT: Record<DecisionEffect, ComplianceEffect> = {
  clear: 'compliance_clear',
  hold: 'compliance_hold',
  release: 'compliance_release',
  block: 'compliance_block',
};

/** The posting of one effect the payment subgraph reports (`payment.deposit_ledger`). */
export function depositEffectPosting(e: DepositLedgerEffect): Posting {
  const input: DepositInput = { merchantId: e.merchantId, coinId: e.deposit.coinId, deposit: e.deposit, amount: BigInt(e.amount) };
  switch (e.effect) {
    case 'seen':
      return depositSeen(input);
    case 'credit': {
      const credit = { ...input, wasSeen: e.fromPending };
      if (e.credit === 'deposit_confirmed') return depositConfirmed(credit);
      if (e.credit === 'unsolicited') return unsolicitedCredit(credit);
      if (e.credit === 'deposit_pending_screening') return depositPendingScreening(credit);
      return depositConfirmedHeld(credit);
    }
    case 'reversal':
      if (e.from === 'pending') return depositReorgedBeforeCredit(input);
      return e.from === 'held' ? depositReorgedWhileHeld(input) : depositReorgedAfterCredit(input);
    default: {
      const effect = COMPLIANCE_EFFECT[e.effect];
      if (!e.moves) return complianceMarker(input, effect);
      if (effect === 'compliance_hold' || effect === 'compliance_block') return complianceHoldCredited(input, effect);
      return effect === 'compliance_clear' ? complianceClearCredited(input) : complianceReleaseCredited(input);
    }
  }
}
