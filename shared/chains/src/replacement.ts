/**
 * What each family's fee bump returns: the signed replacement of a stuck payout, in the shape the
 * signer stores payouts, its detail naming the transaction it replaces.
 */
export interface SignedReplacement<Detail extends Record<string, string>, Nonce extends number | null> {
  txHash: string;
  raw: string;
  fee: bigint;
  feeDetail: Detail & { replaces: string };
  nonce: Nonce;
}

export function maxBig(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}
