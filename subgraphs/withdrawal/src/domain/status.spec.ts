import { WITHDRAWAL_STATUSES, applyBatchUpdate, canCancel, canMove, countsTowardsDaily, initialStatus, type BatchState } from './status';

// Expected outcomes are written out by hand from the rules in status.ts.

describe('withdrawal status machine', () => {
  it('allows only the documented moves', () => {
    expect(canMove('PENDING_APPROVAL', 'QUEUED')).toBe(true);
    expect(canMove('PENDING_APPROVAL', 'REJECTED')).toBe(true);
    expect(canMove('QUEUED', 'BATCHED')).toBe(true);
    expect(canMove('QUEUED', 'CANCELLED')).toBe(true);
    expect(canMove('BATCHED', 'CANCELLED')).toBe(false);
    expect(canMove('BROADCAST', 'SIGNING')).toBe(false);
    for (const s of ['CONFIRMED', 'FAILED', 'REJECTED', 'CANCELLED'] as const) for (const t of WITHDRAWAL_STATUSES) expect(canMove(s, t)).toBe(false);
  });

  it('cancels only before batching', () => {
    expect(WITHDRAWAL_STATUSES.filter(canCancel)).toEqual(['PENDING_APPROVAL', 'QUEUED']);
  });

  it('counts everything but the unspent ends against the daily limit', () => {
    expect(['PROVISIONAL', ...WITHDRAWAL_STATUSES].filter(countsTowardsDaily)).toEqual([
      'PROVISIONAL',
      'PENDING_APPROVAL',
      'QUEUED',
      'BATCHED',
      'SIGNING',
      'BROADCAST',
      'CONFIRMED',
    ]);
  });

  it('sends large and reviewed withdrawals to approval', () => {
    expect(initialStatus(100n, null, 'ALLOW')).toBe('QUEUED');
    expect(initialStatus(100n, 100n, 'ALLOW')).toBe('QUEUED');
    expect(initialStatus(101n, 100n, 'ALLOW')).toBe('PENDING_APPROVAL');
    expect(initialStatus(1n, null, 'REVIEW')).toBe('PENDING_APPROVAL');
  });
});

describe('applyBatchUpdate', () => {
  const at = (status: BatchState['status'], txHash: string | null = null, waitingReason: string | null = null): BatchState => ({
    status,
    txHash,
    waitingReason,
  });

  it('follows the signer forward and marks the final steps', () => {
    expect(applyBatchUpdate(at('BATCHED'), { status: 'SIGNING', txHash: null, reason: null })).toEqual({
      kind: 'move',
      status: 'SIGNING',
      txHash: null,
      waitingReason: null,
      event: 'signing',
      final: null,
    });
    expect(applyBatchUpdate(at('SIGNING'), { status: 'BROADCAST', txHash: '0xa', reason: null })).toMatchObject({
      status: 'BROADCAST',
      txHash: '0xa',
      final: null,
    });
    expect(applyBatchUpdate(at('BROADCAST', '0xa'), { status: 'CONFIRMED', txHash: '0xa', reason: null })).toMatchObject({
      status: 'CONFIRMED',
      final: 'settle',
    });
    expect(applyBatchUpdate(at('BATCHED'), { status: 'FAILED', txHash: null, reason: 'x' })).toMatchObject({ status: 'FAILED', final: 'release' });
  });

  it('ignores repeats, late reports and anything after the end', () => {
    expect(applyBatchUpdate(at('CONFIRMED', '0xa'), { status: 'CONFIRMED', txHash: '0xa', reason: null })).toEqual({ kind: 'ignore' });
    expect(applyBatchUpdate(at('CONFIRMED', '0xa'), { status: 'FAILED', txHash: null, reason: 'late' })).toEqual({ kind: 'ignore' });
    expect(applyBatchUpdate(at('FAILED'), { status: 'CONFIRMED', txHash: '0xa', reason: null })).toEqual({ kind: 'ignore' });
    expect(applyBatchUpdate(at('BROADCAST', '0xa'), { status: 'SIGNING', txHash: null, reason: null })).toEqual({ kind: 'ignore' });
    expect(applyBatchUpdate(at('BROADCAST', '0xa'), { status: 'BROADCAST', txHash: '0xa', reason: null })).toEqual({ kind: 'ignore' });
  });

  it('takes a fee bump as a new hash of the same status', () => {
    expect(applyBatchUpdate(at('BROADCAST', '0xa'), { status: 'BROADCAST', txHash: '0xb', reason: null })).toMatchObject({
      kind: 'move',
      txHash: '0xb',
      final: null,
    });
  });

  it('shows waiting for funds without moving, once per reason', () => {
    expect(applyBatchUpdate(at('BATCHED'), { status: 'WAITING_FUNDS', txHash: null, reason: 'need 1 LTC' })).toEqual({
      kind: 'move',
      status: 'BATCHED',
      txHash: null,
      waitingReason: 'need 1 LTC',
      event: 'waiting_funds',
      final: null,
    });
    expect(applyBatchUpdate(at('BATCHED', null, 'need 1 LTC'), { status: 'WAITING_FUNDS', txHash: null, reason: 'need 1 LTC' })).toEqual({ kind: 'ignore' });
    expect(applyBatchUpdate(at('BROADCAST', '0xa'), { status: 'WAITING_FUNDS', txHash: null, reason: 'x' })).toEqual({ kind: 'ignore' });
    // Once funds arrive the next step clears the reason.
    expect(applyBatchUpdate(at('BATCHED', null, 'need 1 LTC'), { status: 'SIGNING', txHash: null, reason: null })).toMatchObject({
      status: 'SIGNING',
      waitingReason: null,
    });
  });
});
