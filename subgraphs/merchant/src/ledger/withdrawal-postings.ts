import { badInput } from '@cpg/core/graphql';
import { type EntrySpec, type Posting, acct, move, positive, subjectReference } from './postings';

// Withdrawals: a hold when requested, then a release or a settle (one of them, once), and the
// withdrawal's share of its batch's network fee.

export interface WithdrawalInput {
  merchantId: string;
  coinId: string;
  withdrawalId: string;
}

export function withdrawalReference(id: string): string {
  return subjectReference('withdrawal', id, 'withdrawal id');
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
