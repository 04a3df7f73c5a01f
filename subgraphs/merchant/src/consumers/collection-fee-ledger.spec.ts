import { chargeCollectionFee, collectionFeeKey } from '../ledger/collection-postings';
import { depositConfirmed } from '../ledger/deposit-postings';
import { type AccountRef, accountKey, assertPosting, overdrawn, resolvePosting } from '../ledger/postings';

const M = '11111111-1111-4111-8111-111111111111';
const ETH = 'dev-evm:ETH';
const STEP = '33333333-3333-4333-8333-333333333333';
const ref = (kind: AccountRef['kind']): AccountRef => ({ merchantId: M, coinId: ETH, kind });

/** Balances by account, applied as the ledger service applies a posting under its locks. */
function apply(balances: Map<string, bigint>, p: ReturnType<typeof chargeCollectionFee>) {
  assertPosting(p);
  const bal = (a: AccountRef) => balances.get(accountKey(a)) ?? 0n;
  const resolved = resolvePosting(p, bal);
  expect(overdrawn(resolved, bal)).toEqual([]);
  for (const e of resolved) balances.set(accountKey(e.account), bal(e.account) + e.amount);
  return resolved;
}

describe('collection fee posting', () => {
  it('takes the fee from available to external_fees, keyed per step', () => {
    const p = chargeCollectionFee({ merchantId: M, coinId: ETH, stepId: STEP, fee: 25n });
    expect(p.idempotencyKey).toBe(collectionFeeKey(STEP));
    expect(p.idempotencyKey).toBe(`collection:${STEP}:fee`);
    expect(p.kind).toBe('collection_fee');
    const balances = new Map([[accountKey(ref('available')), 100n]]);
    apply(balances, p);
    expect(balances.get(accountKey(ref('available')))).toBe(75n);
    expect(balances.get(accountKey(ref('external_fees')))).toBe(25n);
  });

  it('never refuses: what available cannot cover becomes debt, repaid by the next credit', () => {
    const balances = new Map([[accountKey(ref('available')), 10n]]);
    apply(balances, chargeCollectionFee({ merchantId: M, coinId: ETH, stepId: STEP, fee: 25n }));
    expect(balances.get(accountKey(ref('available')))).toBe(0n);
    expect(balances.get(accountKey(ref('debt')))).toBe(-15n);
    expect(balances.get(accountKey(ref('external_fees')))).toBe(25n);
    apply(balances, depositConfirmed({ merchantId: M, coinId: ETH, deposit: { network: 'dev-evm', txHash: '0xab', index: 0 }, amount: 40n, wasSeen: false }));
    expect(balances.get(accountKey(ref('debt')))).toBe(0n);
    expect(balances.get(accountKey(ref('available')))).toBe(25n);
  });

  it('refuses a zero fee or a missing step', () => {
    expect(() => chargeCollectionFee({ merchantId: M, coinId: ETH, stepId: STEP, fee: 0n })).toThrow();
    expect(() => chargeCollectionFee({ merchantId: M, coinId: ETH, stepId: '', fee: 1n })).toThrow();
  });
});
