import { batchMismatch, type ClaimedBatch, type StoredBatch, type StoredItem } from './verify-batch';

const M = '11111111-1111-4111-8111-111111111111';
const W1 = '22222222-2222-4222-8222-222222222222';
const W2 = '33333333-3333-4333-8333-333333333333';
const batch: StoredBatch = { merchantId: M, networkId: 'dev-evm', coinId: 'dev-evm:USDT', status: 'BATCHED' };
const items: StoredItem[] = [
  { withdrawalId: W1, toAddress: '0xAa', amount: 5n, status: 'BATCHED' },
  { withdrawalId: W2, toAddress: '0xBb', amount: 7n, status: 'BATCHED' },
];
const claim: ClaimedBatch = {
  merchantId: M,
  network: 'dev-evm',
  coinId: 'dev-evm:USDT',
  items: [
    { withdrawalId: W2, toAddress: '0xBb', amount: '7' },
    { withdrawalId: W1, toAddress: '0xAa', amount: '5' },
  ],
};

describe('batchMismatch', () => {
  it('accepts exactly the stored batch, items in any order, while it is BATCHED or SIGNING', () => {
    expect(batchMismatch(batch, items, claim)).toBeNull();
    expect(batchMismatch({ ...batch, status: 'SIGNING' }, items, claim)).toBeNull();
  });

  it('refuses an unknown batch and another merchant, network or coin', () => {
    expect(batchMismatch(null, [], claim)).toBe('no such batch');
    expect(batchMismatch(batch, items, { ...claim, merchantId: W1 })).toMatch(/another merchant/);
    expect(batchMismatch(batch, items, { ...claim, network: 'dev-ltc' })).toMatch(/on dev-evm, not dev-ltc/);
    expect(batchMismatch(batch, items, { ...claim, coinId: 'dev-evm:ETH' })).toMatch(/pays dev-evm:USDT/);
  });

  it('refuses a batch that was broadcast or ended', () => {
    for (const status of ['BROADCAST', 'CONFIRMED', 'FAILED']) expect(batchMismatch({ ...batch, status }, items, claim)).toMatch(/may not be sent/);
  });

  it('refuses an altered amount or destination, a missing, added or repeated withdrawal', () => {
    const alter = (i: number, patch: Partial<ClaimedBatch['items'][number]>) => ({
      ...claim,
      items: claim.items.map((x, j) => (j === i ? { ...x, ...patch } : x)),
    });
    expect(batchMismatch(batch, items, alter(0, { amount: '8' }))).toMatch(/another amount/);
    expect(batchMismatch(batch, items, alter(1, { toAddress: '0xCc' }))).toMatch(/another address/);
    expect(batchMismatch(batch, items, { ...claim, items: claim.items.slice(0, 1) })).toMatch(/has 2 withdrawals, the message 1/);
    expect(batchMismatch(batch, items, { ...claim, items: [...claim.items, { withdrawalId: M, toAddress: '0xAa', amount: '1' }] })).toMatch(/not in the batch/);
    expect(batchMismatch(batch, items, { ...claim, items: [claim.items[0]!, claim.items[0]!] })).toMatch(/listed twice/);
  });

  it('refuses a withdrawal of the batch that is no longer sendable', () => {
    expect(batchMismatch(batch, [items[0]!, { ...items[1]!, status: 'CANCELLED' }], claim)).toMatch(/is CANCELLED/);
  });

  it('compares amounts as numbers, not strings', () => {
    expect(batchMismatch(batch, items, { ...claim, items: claim.items.map((x) => ({ ...x, amount: `00${x.amount}` })) })).toBeNull();
  });
});
