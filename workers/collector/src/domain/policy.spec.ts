import { feeInCoin } from './planner';
import { defaultPolicy, nativeToCoin, plannerPolicy, usdPrices } from './policy';

describe('collection policy helpers', () => {
  it('defaults from the coin minDeposit, like the address subgraph lists them', () => {
    expect(defaultPolicy({ minDeposit: 10_000n })).toEqual({
      collectThreshold: 100_000n,
      hotTarget: 10_000_000_000n,
      coldWalletAddress: null,
      maxFeeRatio: '0.02',
    });
    expect(defaultPolicy({ minDeposit: 0n }).collectThreshold).toBe(10n);
  });

  it('is permissive on dev networks so a typical dev payment is swept: threshold 1 x minDeposit, fees up to half', () => {
    // dev-evm USDT (minDeposit 0.01): a 12.5 USDT payment whose sweep costs about 0.5 USDT of gas is swept.
    expect(defaultPolicy({ minDeposit: 10_000n }, true)).toEqual({
      collectThreshold: 10_000n,
      hotTarget: 10_000_000_000n,
      coldWalletAddress: null,
      maxFeeRatio: '0.5',
    });
  });

  it('turns the stored ratio into an exact fraction', () => {
    expect(plannerPolicy({ ...defaultPolicy({ minDeposit: 1n }), maxFeeRatio: '0.025' }).maxFeeRatio).toEqual({ numerator: 25n, denominator: 1000n });
  });

  it('prices the native coin in base units of a token', () => {
    const r = nativeToCoin('3000', 18, '1', 6);
    expect(feeInCoin(10n ** 18n, r)).toBe(3_000_000_000n);
    expect(feeInCoin(10n ** 12n, r)).toBe(3000n);
    expect(nativeToCoin('1', 8, '1', 8)).toEqual({ numerator: 1n, denominator: 1n });
    expect(feeInCoin(10n ** 8n, nativeToCoin('2', 8, '0.5', 6))).toBe(4_000_000n);
    expect(() => nativeToCoin('1', 18, '0', 6)).toThrow(RangeError);
  });

  it('reads USD prices in the RATES_STATIC format', () => {
    expect(usdPrices('BTC:USD=65000,ETH:USD=3000, usdt:usd=1,LTC:EUR=70,bad')).toEqual({ BTC: '65000', ETH: '3000', USDT: '1' });
    expect(usdPrices(undefined)).toEqual({});
  });
});
