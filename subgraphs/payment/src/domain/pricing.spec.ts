import { AppError } from '@cpg/core/graphql';
import { MAX_UNITS } from '@cpg/core/money';
import { priceCurrencyOf, priceToAmount, type PriceRequest } from './pricing';

// Expected amounts are worked out by hand (price / rate * 10^decimals, rounded up) and written
// as literals.

function errorOf(fn: () => unknown): AppError {
  try {
    fn();
  } catch (err) {
    if (err instanceof AppError) return err;
    throw new Error(`expected an AppError, got ${String(err)}`);
  }
  throw new Error('expected a throw, but nothing was thrown');
}

const req = (over: Partial<PriceRequest> = {}): PriceRequest => ({ priceAmount: '100', priceCurrency: 'USD', rate: '1', coinDecimals: 6, ...over });

describe('priceToAmount: conversion', () => {
  it.each<[string, string, number, bigint]>([
    ['100', '1', 6, 100_000_000n], // a stablecoin at par
    ['19.99', '1', 6, 19_990_000n],
    ['100', '50000', 8, 200_000n], // 0.002 BTC exactly
    ['1', '3', 6, 333_334n], // 0.3333333... rounds up
    ['2', '3', 6, 666_667n],
    ['0.01', '65000', 8, 16n], // 15.38... satoshi -> 16
    ['10', '3000.5', 18, 3_332_777_870_354_941n], // 10/3000.5 = 0.003332777870354940843... -> up
    ['1', '0.000000000000000001', 0, 1_000_000_000_000_000_000n],
    ['0.0001', '1000000', 18, 100_000_000n], // 1e-10 ETH
    ['5', '2', 0, 3n], // whole-unit coin: 2.5 -> 3
    ['4', '2', 0, 2n], // exact: no extra unit
  ])('%s at rate %s with %i decimals -> %s', (priceAmount, rate, coinDecimals, expected) => {
    expect(priceToAmount(req({ priceAmount, rate, coinDecimals })).amount).toBe(expected);
  });

  it('never gives the merchant less than the price, and at most one unit more', () => {
    // A decimal string as an exact fraction, by hand: "123.45" -> 12345/100.
    const frac = (s: string): [bigint, bigint] => [BigInt(s.replace('.', '')), 10n ** BigInt(s.split('.')[1]?.length ?? 0)];
    for (const [price, rate] of [
      ['1', '7'],
      ['123.45', '0.987654321'],
      ['99.99', '61234.56789'],
      ['0.0001', '99999.9999'],
    ] as const) {
      const { amount } = priceToAmount(req({ priceAmount: price, rate, coinDecimals: 8 }));
      const [pn, pd] = frac(price);
      const [rn, rd] = frac(rate);
      // (a / 10^8) * (rn / rd) >= pn / pd  <=>  a * rn * pd >= pn * rd * 10^8
      const worth = (a: bigint) => a * rn * pd;
      const owed = pn * rd * 10n ** 8n;
      expect(worth(amount) >= owed).toBe(true);
      expect(worth(amount - 1n) < owed).toBe(true);
    }
  });

  it('returns canonical spellings of the price and the locked rate', () => {
    expect(priceToAmount(req({ priceAmount: '19.90', priceCurrency: 'EUR', rate: '65000.1200' }))).toEqual({
      amount: 307n,
      priceAmount: '19.9',
      priceCurrency: 'EUR',
      rate: '65000.12',
    });
  });

  it('accepts the bounds: four price decimals, a trillion, 18 rate decimals', () => {
    expect(priceToAmount(req({ priceAmount: '0.0001', rate: '1', coinDecimals: 4 })).amount).toBe(1n);
    expect(priceToAmount(req({ priceAmount: '1000000000000', rate: '1', coinDecimals: 0 })).amount).toBe(1_000_000_000_000n);
    expect(priceToAmount(req({ priceAmount: '1', rate: '0.000000000000000001', coinDecimals: 0 })).amount).toBe(10n ** 18n);
  });
});

describe('priceToAmount: refusals', () => {
  it.each<[string, Partial<PriceRequest>, string]>([
    ['zero price', { priceAmount: '0' }, 'priceAmount'],
    ['zero price with decimals', { priceAmount: '0.0000' }, 'priceAmount'],
    ['negative price', { priceAmount: '-1' }, 'priceAmount'],
    ['exponent price', { priceAmount: '1e3' }, 'priceAmount'],
    ['five decimals', { priceAmount: '1.00001' }, 'priceAmount'],
    ['empty price', { priceAmount: '' }, 'priceAmount'],
    ['price with spaces', { priceAmount: ' 1' }, 'priceAmount'],
    ['price with comma', { priceAmount: '1,5' }, 'priceAmount'],
    ['price as number', { priceAmount: 5 as unknown as string }, 'priceAmount'],
    ['price above a trillion', { priceAmount: '1000000000000.0001' }, 'priceAmount'],
    ['absurd price', { priceAmount: '9'.repeat(70) }, 'priceAmount'],
    ['lower-case currency', { priceCurrency: 'usd' }, 'priceCurrency'],
    ['two-letter currency', { priceCurrency: 'US' }, 'priceCurrency'],
    ['four-letter currency', { priceCurrency: 'USDT' }, 'priceCurrency'],
    ['currency with digit', { priceCurrency: 'US1' }, 'priceCurrency'],
    ['empty currency', { priceCurrency: '' }, 'priceCurrency'],
    ['currency as null', { priceCurrency: null as unknown as string }, 'priceCurrency'],
    ['amount too large for the coin', { priceAmount: '1000000000000', rate: '0.000000000000000001', coinDecimals: 60 }, 'priceAmount'],
  ])('%s -> BAD_USER_INPUT naming %s', (_label, over, field) => {
    const err = errorOf(() => priceToAmount(req(over)));
    expect(err.code).toBe('BAD_USER_INPUT');
    expect(err.extensions.field).toBe(field);
  });

  it.each<[string, string]>([
    ['zero rate', '0'],
    ['negative rate', '-65000'],
    ['malformed rate', 'abc'],
    ['exponent rate', '6.5e4'],
    ['too precise rate', '0.0000000000000000001'],
  ])('a %s is the rate source failing: UNAVAILABLE', (_label, rate) => {
    expect(errorOf(() => priceToAmount(req({ rate }))).code).toBe('UNAVAILABLE');
  });

  it('checks the currency before the price, so one error names one field', () => {
    expect(errorOf(() => priceToAmount(req({ priceCurrency: 'x', priceAmount: '0' }))).extensions.field).toBe('priceCurrency');
  });

  it('treats bad coin decimals as a programming error', () => {
    expect(() => priceToAmount(req({ coinDecimals: 79 }))).toThrow(RangeError);
    expect(() => priceToAmount(req({ coinDecimals: 1.5 }))).toThrow(RangeError);
  });

  it('never exceeds numeric(78,0)', () => {
    const { amount } = priceToAmount(req({ priceAmount: '1', rate: '1', coinDecimals: 77 }));
    expect(amount <= MAX_UNITS).toBe(true);
  });
});

describe('priceCurrencyOf: the currencies this gateway prices in', () => {
  it('accepts any casing of a configured code and returns it upper case', () => {
    expect(priceCurrencyOf('usd', ['USD'])).toBe('USD');
    expect(priceCurrencyOf(' Usd ', ['EUR', 'USD'])).toBe('USD');
    expect(priceCurrencyOf('EUR', ['EUR', 'USD'])).toBe('EUR');
  });

  it('refuses a code that is not configured as BAD_USER_INPUT listing the configured ones', () => {
    const err = errorOf(() => priceCurrencyOf('EUR', ['USD']));
    expect(err.code).toBe('BAD_USER_INPUT');
    expect(err.message).toBe('priceCurrency EUR is not configured on this gateway; use one of: USD');
    expect(err.extensions).toMatchObject({ field: 'priceCurrency', currencies: ['USD'] });
  });

  it.each(['US', 'USDT', 'US1', '', null, 5])('refuses %p, also listing the configured codes', (given) => {
    const err = errorOf(() => priceCurrencyOf(given, ['GBP', 'USD']));
    expect(err.code).toBe('BAD_USER_INPUT');
    expect(err.message).toContain('GBP, USD');
  });
});
