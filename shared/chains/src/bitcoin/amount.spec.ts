import { AmountFormatError, coinsToSats, satsToCoins } from './amount';

// Expected values are literals: a bug in the conversion cannot agree with itself.
describe('coinsToSats', () => {
  it.each<[number | string, bigint]>([
    [0, 0n],
    [50, 5_000_000_000n],
    [50.0, 5_000_000_000n],
    [12.50026312, 1_250_026_312n],
    [0.00012345, 12_345n],
    [0.00000001, 1n],
    [0.00000774, 774n], // JavaScript prints this one as 7.74e-6
    [1e-7, 10n],
    [2.831e-5, 2_831n],
    [0.1, 10_000_000n],
    [0.3, 30_000_000n],
    [20999999.99999999, 2_099_999_999_999_999n],
    [84000000, 8_400_000_000_000_000n],
    [7931.99220526, 793_199_220_526n],
    ['0.00012345', 12_345n],
    ['50.00000000', 5_000_000_000n],
    ['1.5e-7', 15n],
    ['-0', 0n],
  ])('%p coins is %p sats', (input, expected) => {
    expect(coinsToSats(input)).toBe(expected);
  });

  it('is exact for every 8-decimal value tried, where float maths is not', () => {
    // 0.29 * 1e8 = 28999999.999999996 in doubles: the classic way money goes wrong.
    expect(Math.floor(0.29 * 1e8)).toBe(28_999_999);
    expect(coinsToSats(0.29)).toBe(29_000_000n);
    // Every amount around a large, awkward value, passed through JSON as the node sends it.
    for (let i = 0; i < 2000; i++) {
      const sats = 1_234_567_890_123n + BigInt(i) * 7_919n;
      const text = `${sats / 100_000_000n}.${(sats % 100_000_000n).toString().padStart(8, '0')}`;
      expect(coinsToSats(JSON.parse(text) as number)).toBe(sats);
    }
  });

  it.each<[number | string, string]>([
    [-1, 'negative'],
    ['-0.5', 'negative'],
    [0.000000001, 'more than 8 decimals'],
    ['0.123456789', 'more than 8 decimals'],
    [Number.NaN, 'not finite'],
    [Number.POSITIVE_INFINITY, 'not finite'],
    ['abc', 'not a decimal number'],
    ['', 'not a decimal number'],
    [1e9, 'beyond the exact range'],
  ])('refuses %p (%s)', (input, why) => {
    expect(() => coinsToSats(input)).toThrow(AmountFormatError);
    expect(() => coinsToSats(input)).toThrow(why);
  });
});

describe('satsToCoins', () => {
  it.each<[bigint, string]>([
    [0n, '0'],
    [1n, '0.00000001'],
    [150_000_000n, '1.5'],
    [2_099_999_999_999_999n, '20999999.99999999'],
  ])('%p sats is %p', (sats, text) => {
    expect(satsToCoins(sats)).toBe(text);
  });

  it('refuses negatives', () => {
    expect(() => satsToCoins(-1n)).toThrow(AmountFormatError);
  });
});
