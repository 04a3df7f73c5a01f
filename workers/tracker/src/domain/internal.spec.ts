import { isInternalTransfer } from './internal';
import type { WatchEntry } from './watchlist';

const m1 = '11111111-1111-4111-8111-111111111111';
const m2 = '22222222-2222-4222-8222-222222222222';
const entry = (type: WatchEntry['type'], merchantId = m1): WatchEntry => ({ addressId: '33333333-3333-4333-8333-333333333333', merchantId, type });

describe('internal tagging', () => {
  it('tags transfers from our HOT, TOKENS_COLLECTOR or USER address of the same merchant', () => {
    for (const t of ['HOT', 'TOKENS_COLLECTOR', 'USER'] as const) expect(isInternalTransfer(entry(t), entry('USER'))).toBe(true);
  });

  it('does not tag a sender outside the watch list', () => {
    expect(isInternalTransfer(undefined, entry('USER'))).toBe(false);
  });

  it('does not tag a transfer from another merchant', () => {
    expect(isInternalTransfer(entry('HOT', m2), entry('USER', m1))).toBe(false);
  });

  it('does not tag a transfer from a COLD address (no keys here: it is an external top-up)', () => {
    expect(isInternalTransfer(entry('COLD'), entry('HOT'))).toBe(false);
  });
});
