/**
 * The withdrawal status machine, pure. A withdrawal is requested (PENDING_APPROVAL when it needs
 * the operator, else QUEUED), grouped into a batch (BATCHED), then follows its batch through the
 * signer (SIGNING, BROADCAST) to CONFIRMED or FAILED. REJECTED, CANCELLED, CONFIRMED and FAILED
 * are final. The hold taken at request is released by REJECTED (after a hold), CANCELLED and
 * FAILED, and settled by CONFIRMED.
 */
export const WITHDRAWAL_STATUSES = ['PENDING_APPROVAL', 'QUEUED', 'BATCHED', 'SIGNING', 'BROADCAST', 'CONFIRMED', 'FAILED', 'REJECTED', 'CANCELLED'] as const;
export type WithdrawalStatus = (typeof WITHDRAWAL_STATUSES)[number];
export type BatchStatus = Extract<WithdrawalStatus, 'BATCHED' | 'SIGNING' | 'BROADCAST' | 'CONFIRMED' | 'FAILED'>;

export const FINAL: readonly WithdrawalStatus[] = ['CONFIRMED', 'FAILED', 'REJECTED', 'CANCELLED'];

/** Statuses that count against the rolling daily limit: everything not ended without spending. */
export function countsTowardsDaily(status: string): boolean {
  return !['FAILED', 'CANCELLED', 'REJECTED'].includes(status);
}

const ALLOWED: Record<WithdrawalStatus, readonly WithdrawalStatus[]> = {
  PENDING_APPROVAL: ['QUEUED', 'REJECTED', 'CANCELLED'],
  QUEUED: ['BATCHED', 'CANCELLED'],
  BATCHED: ['SIGNING', 'BROADCAST', 'CONFIRMED', 'FAILED'],
  SIGNING: ['BROADCAST', 'CONFIRMED', 'FAILED'],
  BROADCAST: ['CONFIRMED', 'FAILED'],
  CONFIRMED: [],
  FAILED: [],
  REJECTED: [],
  CANCELLED: [],
};

export function canMove(from: WithdrawalStatus, to: WithdrawalStatus): boolean {
  return ALLOWED[from].includes(to);
}

export function canCancel(status: WithdrawalStatus): boolean {
  return status === 'QUEUED' || status === 'PENDING_APPROVAL';
}

/** What a freshly held withdrawal becomes: the operator sees it first above approvalAbove or on a REVIEW screening. */
export function initialStatus(amount: bigint, approvalAbove: bigint | null, screening: 'ALLOW' | 'REVIEW'): WithdrawalStatus {
  if (screening === 'REVIEW') return 'PENDING_APPROVAL';
  if (approvalAbove !== null && amount > approvalAbove) return 'PENDING_APPROVAL';
  return 'QUEUED';
}

export type SignerStatus = 'WAITING_FUNDS' | 'SIGNING' | 'BROADCAST' | 'CONFIRMED' | 'FAILED';

export interface BatchState {
  status: BatchStatus;
  txHash: string | null;
  waitingReason: string | null;
}

export interface BatchUpdate {
  status: SignerStatus;
  txHash: string | null;
  reason: string | null;
}

export type BatchStep =
  | { kind: 'ignore' }
  /** Status (or tx hash, or waiting reason) changes; `settle`/`release` on the final steps. */
  | { kind: 'move'; status: BatchStatus; txHash: string | null; waitingReason: string | null; event: string; final: 'settle' | 'release' | null };

const RANK: Record<BatchStatus, number> = { BATCHED: 0, SIGNING: 1, BROADCAST: 2, CONFIRMED: 3, FAILED: 3 };

/**
 * The signer's report applied to a batch. Reports may arrive late, twice or out of order: a
 * final batch never moves again, a report behind the current status is ignored, the same report
 * twice changes nothing. WAITING_FUNDS keeps the batch where it is and shows the reason; a fee
 * bump while BROADCAST replaces the tx hash.
 */
export function applyBatchUpdate(cur: BatchState, u: BatchUpdate): BatchStep {
  if (cur.status === 'CONFIRMED' || cur.status === 'FAILED') return { kind: 'ignore' };
  if (u.status === 'WAITING_FUNDS') {
    if (cur.status !== 'BATCHED' && cur.status !== 'SIGNING') return { kind: 'ignore' };
    const reason = u.reason ?? 'the hot wallet cannot cover this batch yet';
    if (cur.waitingReason === reason) return { kind: 'ignore' };
    return { kind: 'move', status: cur.status, txHash: cur.txHash, waitingReason: reason, event: 'waiting_funds', final: null };
  }
  const next: BatchStatus = u.status;
  if (RANK[next] < RANK[cur.status]) return { kind: 'ignore' };
  const txHash = u.txHash ?? cur.txHash;
  if (next === cur.status && txHash === cur.txHash) return { kind: 'ignore' };
  const final = next === 'CONFIRMED' ? 'settle' : next === 'FAILED' ? 'release' : null;
  return { kind: 'move', status: next, txHash, waitingReason: null, event: next.toLowerCase(), final };
}
