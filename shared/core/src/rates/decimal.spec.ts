import { JsonNumber, normalizeRate, parseJsonExact } from './decimal';
import { RateUnavailableError } from './provider';

describe('normalizeRate', () => {
  it.each<[string, string]>([
    ['65000', '65000'],
    ['65000.10000', '65000.1'],
    ['1.00000000', '1'],
    ['0.99985', '0.99985'],
    ['007.5', '7.5'],
    ['6.7e-05', '0.000067'],
    ['6.7E-5', '0.000067'],
    ['1e3', '1000'],
    ['1.5e+2', '150'],
    ['12.345e1', '123.45'],
    ['12.345e-1', '1.2345'],
    ['0.000000000000000001', '0.000000000000000001'],
    // Beyond 18 decimals: cut, never rounded up, so pricing never asks for less coin.
    ['0.1234567890123456789', '0.123456789012345678'],
    ['1.9999999999999999999', '1.999999999999999999'],
    // Digits a float would lose survive.
    ['67187.33581234567890123', '67187.33581234567890123'],
    ['67187.3358123456789012345678', '67187.335812345678901234'],
    ['9007199254740993', '9007199254740993'],
  ])('%s -> %s', (input, expected) => {
    expect(normalizeRate(input, 'test')).toBe(expected);
  });

  it.each([
    ['0'],
    ['0.000'],
    ['0e5'],
    ['0.0000000000000000001'],
    ['-1'],
    ['abc'],
    [''],
    ['1.'],
    ['.5'],
    ['1e'],
    ['NaN'],
    ['Infinity'],
    ['1e99999999'],
    ['1' + '0'.repeat(30)],
    [' 1'],
  ])('refuses %j', (input) => {
    expect(() => normalizeRate(input, 'test')).toThrow(RateUnavailableError);
  });

  it('refuses a non-string', () => {
    expect(() => normalizeRate(65000 as unknown as string, 'test')).toThrow(RateUnavailableError);
  });

  it('names the source in the error', () => {
    expect(() => normalizeRate('x', 'kraken')).toThrow(/^kraken: /);
  });
});

describe('parseJsonExact', () => {
  it('keeps numbers as their exact text', () => {
    const v = parseJsonExact('{"bitcoin":{"usd":67187.33581234567890123,"last_updated_at":1711356300}}');
    expect(v).toEqual({ bitcoin: { usd: new JsonNumber('67187.33581234567890123'), last_updated_at: new JsonNumber('1711356300') } });
  });

  it('reads every JSON kind', () => {
    expect(parseJsonExact(' [true, false, null, "a\\"b\\u00e9", -1.5e-3, [], {}] ')).toEqual([true, false, null, 'a"bé', new JsonNumber('-1.5e-3'), [], {}]);
  });

  it('treats __proto__ as a plain key', () => {
    const v = parseJsonExact('{"__proto__":{"polluted":true}}') as Record<string, unknown>;
    expect(Object.keys(v)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it.each([
    [''],
    ['{'],
    ['{"a":1,}'],
    ['[1,]'],
    ['01'],
    ['1.'],
    ['.5'],
    ['+1'],
    ['NaN'],
    ["{'a':1}"],
    ['{"a" 1}'],
    ['[1] x'],
    ['"\u0001"'],
    ['tru'],
    ['['.repeat(100) + ']'.repeat(100)],
  ])('refuses %j', (text) => {
    expect(() => parseJsonExact(text)).toThrow(SyntaxError);
  });
});
