import { defaultPolicy, parseMaxFeeRatio } from './collection';

describe('collection policy defaults', () => {
  it('mainnets: threshold 10 x minDeposit, 2% fee cap', () => {
    expect(defaultPolicy({ minDeposit: 10_000n })).toEqual({ collectThreshold: 100_000n, hotTarget: 10_000_000_000n, coldWalletId: null, maxFeeRatio: '0.02' });
  });

  it('dev networks: threshold 1 x minDeposit, 50% fee cap, also when a policy omits maxFeeRatio', () => {
    const dev = defaultPolicy({ minDeposit: 10_000n }, true);
    expect(dev).toEqual({ collectThreshold: 10_000n, hotTarget: 10_000_000_000n, coldWalletId: null, maxFeeRatio: '0.5' });
    expect(parseMaxFeeRatio(undefined, dev.maxFeeRatio)).toBe('0.5');
    expect(parseMaxFeeRatio(null)).toBe('0.02');
    expect(parseMaxFeeRatio('0.050')).toBe('0.05');
  });
});
