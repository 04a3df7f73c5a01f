import type { DepositStatus, PaymentStatus } from './status-machine';

/**
 * What a chain event does to a deposit row, and which ledger effect it implies. Pure, so the
 * ordering quirks of the tracker (a confirmation without a prior sighting, a late `seen` after the
 * confirmation, a transfer mined again after its reorg) are decided in one place.
 */

export type TransferKind = 'seen' | 'confirmed' | 'reorged';
export type LedgerKind = 'seen' | 'confirmed' | 'reorged' | 'unsolicited_confirmed';

export interface DepositState {
  status: DepositStatus;
  /** Bumped when a reorged transfer is mined again, so its ledger keys are fresh. */
  generation: number;
}

export interface DepositTransition {
  /** null: the event changes nothing (e.g. a reorg of a transfer never recorded). */
  next: DepositState | null;
  ledger: { kind: LedgerKind; wasConfirmed: boolean } | null;
}

/**
 * `previous` is the stored deposit (null when new). Unsolicited deposits are credited only once
 * final and never go through pending; below-minimum ones touch no ledger at all. HELD is
 * compliance's: chain events do not release it.
 */
export function transition(previous: DepositState | null, kind: TransferKind, opts: { unsolicited: boolean; belowMinimum: boolean }): DepositTransition {
  const quiet = opts.belowMinimum;
  const was = previous?.status ?? null;
  if (was === 'HELD') return { next: null, ledger: null };
  const generation = was === 'REORGED' && kind !== 'reorged' ? (previous!.generation ?? 0) + 1 : (previous?.generation ?? 0);
  switch (kind) {
    case 'seen': {
      if (was === 'SEEN' || was === 'CONFIRMED') return { next: null, ledger: null };
      const ledger = quiet || opts.unsolicited ? null : { kind: 'seen' as const, wasConfirmed: false };
      return { next: { status: 'SEEN', generation }, ledger };
    }
    case 'confirmed': {
      if (was === 'CONFIRMED') return { next: null, ledger: null };
      const ledger = quiet ? null : { kind: opts.unsolicited ? ('unsolicited_confirmed' as const) : ('confirmed' as const), wasConfirmed: false };
      return { next: { status: 'CONFIRMED', generation }, ledger };
    }
    case 'reorged': {
      if (was === null || was === 'REORGED') return { next: null, ledger: null };
      const credited = was === 'CONFIRMED';
      // An unsolicited transfer was never put in pending, so only its credit needs taking back.
      const ledger = quiet || (opts.unsolicited && !credited) ? null : { kind: 'reorged' as const, wasConfirmed: credited };
      return { next: { status: 'REORGED', generation }, ledger };
    }
  }
}

/** The ledger's key of one deposit: `network:txHash:index`, `#generation` after a re-inclusion. */
export function depositKey(network: string, txHash: string, index: number, generation: number): string {
  return `${network}:${txHash}:${index}${generation > 0 ? `#${generation}` : ''}`;
}

// Hex hashes arrive in either case depending on the RPC; one transfer must be one row.
export { normalTxHash } from '@cpg/core/bus/catalogue/common';

export const OPEN_STATUSES: readonly PaymentStatus[] = ['PENDING', 'PARTIALLY_PAID', 'CONFIRMING', 'ON_HOLD'];

export interface CandidatePayment {
  id: string;
  status: PaymentStatus;
  coinId: string;
  /** Set when the payment was given the customer's reused address. */
  customerId: string | null;
  createdAt: Date;
}

/**
 * Which payment a transfer to an address belongs to. The newest open payment for the coin wins.
 * An address made for one payment alone (no customer) keeps belonging to it after it expired or
 * was paid, so a late or extra transfer shows on that payment (paid late, overpaid). A customer's
 * reused address with nothing open, a cancelled payment, or another coin: null, i.e. unsolicited.
 */
export function matchPayment(candidates: readonly CandidatePayment[], coinId: string): CandidatePayment | null {
  const sameCoin = [...candidates].filter((p) => p.coinId === coinId).sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
  const open = sameCoin.find((p) => OPEN_STATUSES.includes(p.status));
  if (open) return open;
  const newest = sameCoin[0];
  if (newest && newest.customerId === null && newest.status !== 'CANCELLED') return newest;
  return null;
}
