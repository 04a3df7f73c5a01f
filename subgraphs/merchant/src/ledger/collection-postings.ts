import { type AccountKind, type Posting, move, positive, subjectReference } from './postings';

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
  return subjectReference('collection', stepId, 'collection step id');
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
  return fromAvailable(i, positive(i.fee), 'external_fees', collectionFeeKey(i.stepId), 'collection_fee');
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
  return fromAvailable(i, positive(i.amount), 'custody', coldForwardKey(i.stepId), 'cold_forward');
}

/** What a confirmed step moved out has already left the chain: never refused, what available cannot cover becomes debt. */
function fromAvailable(
  i: { merchantId: string; coinId: string; stepId: string },
  amount: bigint,
  to: AccountKind,
  idempotencyKey: string,
  kind: string,
): Posting {
  return move(i, amount, 'available', to, { idempotencyKey, kind, reference: collectionReference(i.stepId) }, { shortfall: true });
}
