import { prng } from '@cpg/devkit/testing/prng';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  MAX_DECIMALS,
  MAX_UNITS,
  MONEY_ERROR_REASONS,
  MoneyError,
  convertDecimals,
  formatAmount,
  isAmountString,
  mulRatio,
  parseAmount,
  parseDecimalRatio,
  sumAmounts,
  type MoneyErrorReason,
  type ParseAmountOptions,
  type Rounding,
} from './index';

// Expected values are written as literals or built with plain bigint arithmetic, never through
// the code under test, so a bug cannot agree with itself.
const nines = (n: number) => '9'.repeat(n);
const zeros = (n: number) => '0'.repeat(n);
const E78 = 10n ** 78n;

/** Runs fn and returns the MoneyError reason; anything else (including no throw) fails the test. */
function reasonOf(fn: () => unknown): MoneyErrorReason {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  if (thrown === undefined) throw new Error('expected a MoneyError, but nothing was thrown');
  if (!(thrown instanceof MoneyError)) throw new Error(`expected a MoneyError, got ${String(thrown)}`);
  return thrown.reason;
}

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected a throw, but nothing was thrown');
}

const TEST_DECIMALS = [0, 2, 6, 8, 18, 30] as const;

describe('MoneyError', () => {
  it('is an Error carrying a reason from the closed list', () => {
    const err = new MoneyError('EMPTY', 'amount must not be empty');
    expect(err).toBeInstanceOf(Error);
    expect(err).toBeInstanceOf(MoneyError);
    expect(err.name).toBe('MoneyError');
    expect(err.reason).toBe('EMPTY');
    expect(err.message).toBe('amount must not be empty');
  });

  it('exposes exactly the agreed reasons', () => {
    expect([...MONEY_ERROR_REASONS].sort()).toEqual(
      [
        'EMPTY',
        'NOT_A_STRING',
        'MALFORMED',
        'EXPONENT',
        'TOO_MANY_DECIMALS',
        'NEGATIVE_NOT_ALLOWED',
        'SIGN_NOT_ALLOWED',
        'BAD_DECIMALS',
        'OUT_OF_RANGE',
      ].sort(),
    );
  });

  it('exports the numeric(78,0) limits', () => {
    expect(MAX_DECIMALS).toBe(78);
    expect(MAX_UNITS).toBe(E78 - 1n);
  });
});

describe('parseAmount: accepted inputs', () => {
  it.each<[string, number, bigint]>([
    ['0', 0, 0n],
    ['0', 6, 0n],
    ['0', 18, 0n],
    ['12', 0, 12n],
    ['10', 0, 10n],
    ['100', 0, 100n],
    ['12', 2, 1200n],
    ['12.5', 2, 1250n],
    ['12.5', 6, 12_500_000n],
    ['0.5', 6, 500_000n],
    ['0.05', 2, 5n],
    ['0.000001', 6, 1n],
    ['1.123456', 6, 1_123_456n],
    ['1', 8, 100_000_000n],
    ['1.00000001', 8, 100_000_001n],
    ['21000000', 8, 2_100_000_000_000_000n],
    ['1', 18, 10n ** 18n],
    ['0.000000000000000001', 18, 1n],
    ['123.456789012345678', 18, 123_456_789_012_345_678_000n],
    ['1', 30, 10n ** 30n],
    [`0.${zeros(29)}1`, 30, 1n],
    ['123456789.123456789012345678901234567890', 30, 123456789_123456789012345678901234567890n],
  ])('parses %j with %i decimals to %s', (input, decimals, expected) => {
    expect(parseAmount(input, decimals)).toBe(expected);
  });

  it.each<[string, number, bigint]>([
    ['1.50', 2, 150n],
    ['1.500000', 6, 1_500_000n],
    ['0.000', 6, 0n],
    ['0.0', 1, 0n],
    ['2.10', 8, 210_000_000n],
    ['1.000000000000000000', 18, 10n ** 18n],
  ])('accepts non-canonical trailing zeros within the decimals: %j (%i decimals) -> %s', (input, decimals, expected) => {
    expect(parseAmount(input, decimals)).toBe(expected);
  });

  it.each<[string, number, bigint]>([
    ['-1', 0, -1n],
    ['-0.05', 2, -5n],
    ['-12.5', 6, -12_500_000n],
    ['-0.00000001', 8, -1n],
    ['-0.000000000000000001', 18, -1n],
    ['-1.50', 2, -150n],
    [`-${nines(78)}`, 0, -(E78 - 1n)],
  ])('accepts negative %j with %i decimals when allowNegative', (input, decimals, expected) => {
    expect(parseAmount(input, decimals, { allowNegative: true })).toBe(expected);
  });

  it('accepts decimals 0 and 78 (the bounds)', () => {
    expect(parseAmount('5', 0)).toBe(5n);
    expect(parseAmount('0.5', 78)).toBe(5n * 10n ** 77n);
  });

  it('treats allowZero as true by default and when explicitly true', () => {
    expect(parseAmount('0', 6)).toBe(0n);
    expect(parseAmount('0', 6, {})).toBe(0n);
    expect(parseAmount('0.0', 6, { allowZero: true })).toBe(0n);
  });
});

describe('parseAmount: rejected inputs', () => {
  type Case = [label: string, input: unknown, decimals: number, opts: ParseAmountOptions, reason: MoneyErrorReason];
  const neg: ParseAmountOptions = { allowNegative: true };
  const cases: Case[] = [
    // NOT_A_STRING: a JS number has already been through a float, even when it looks whole.
    ['number 1', 1, 6, {}, 'NOT_A_STRING'],
    ['number 0', 0, 6, {}, 'NOT_A_STRING'],
    ['number 1.5', 1.5, 6, {}, 'NOT_A_STRING'],
    ['number 0.1', 0.1, 6, {}, 'NOT_A_STRING'],
    ['NaN', NaN, 6, {}, 'NOT_A_STRING'],
    ['Infinity', Infinity, 6, {}, 'NOT_A_STRING'],
    ['bigint', 1n, 6, {}, 'NOT_A_STRING'],
    ['null', null, 6, {}, 'NOT_A_STRING'],
    ['undefined', undefined, 6, {}, 'NOT_A_STRING'],
    ['boolean', true, 6, {}, 'NOT_A_STRING'],
    ['object', {}, 6, {}, 'NOT_A_STRING'],
    ['array of string', ['1'], 6, {}, 'NOT_A_STRING'],
    ['String object', new String('1'), 6, {}, 'NOT_A_STRING'],
    ['symbol', Symbol('1'), 6, {}, 'NOT_A_STRING'],
    // EMPTY
    ['empty string', '', 6, {}, 'EMPTY'],
    ['single space', ' ', 6, {}, 'EMPTY'],
    ['spaces', '   ', 6, {}, 'EMPTY'],
    ['tab/newline', '\t\n', 6, {}, 'EMPTY'],
    ['no-break space', '\u00a0', 6, {}, 'EMPTY'],
    // MALFORMED: whitespace
    ['leading space', ' 1', 6, {}, 'MALFORMED'],
    ['trailing space', '1 ', 6, {}, 'MALFORMED'],
    ['trailing newline', '1\n', 6, {}, 'MALFORMED'],
    ['inner space', '1 000', 6, {}, 'MALFORMED'],
    ['space after point', '1. 5', 6, {}, 'MALFORMED'],
    ['space after minus', '- 1', 6, neg, 'MALFORMED'],
    ['inner no-break space', '1\u00a0000', 6, {}, 'MALFORMED'],
    ['leading tab', '\t1', 6, {}, 'MALFORMED'],
    // MALFORMED: shape
    ['trailing point', '12.', 6, {}, 'MALFORMED'],
    ['leading point', '.5', 6, {}, 'MALFORMED'],
    ['lone point', '.', 6, {}, 'MALFORMED'],
    ['two points', '1.2.3', 6, {}, 'MALFORMED'],
    ['leading zeros', '007', 6, {}, 'MALFORMED'],
    ['leading zero on integer', '01', 6, {}, 'MALFORMED'],
    ['double zero', '00', 6, {}, 'MALFORMED'],
    ['double zero before point', '00.5', 6, {}, 'MALFORMED'],
    ['leading zero before point', '01.5', 6, {}, 'MALFORMED'],
    ['negative leading zeros', '-007', 6, neg, 'MALFORMED'],
    ['hex', '0x10', 6, {}, 'MALFORMED'],
    ['binary', '0b1', 6, {}, 'MALFORMED'],
    ['octal', '0o7', 6, {}, 'MALFORMED'],
    ['Infinity', 'Infinity', 6, {}, 'MALFORMED'],
    ['-Infinity', '-Infinity', 6, neg, 'MALFORMED'],
    ['NaN', 'NaN', 6, {}, 'MALFORMED'],
    ['comma thousands', '1,000', 6, {}, 'MALFORMED'],
    ['comma decimal', '1,5', 6, {}, 'MALFORMED'],
    ['underscore', '1_000', 6, {}, 'MALFORMED'],
    ['bigint literal', '1n', 6, {}, 'MALFORMED'],
    ['letters', 'abc', 6, {}, 'MALFORMED'],
    ['currency suffix', '12 USDT', 6, {}, 'MALFORMED'],
    ['currency prefix', '$12', 6, {}, 'MALFORMED'],
    ['fullwidth digits', '\uff11\uff12', 6, {}, 'MALFORMED'],
    ['arabic-indic digits', '\u0661\u0662', 6, {}, 'MALFORMED'],
    ['devanagari digit', '\u0967', 6, {}, 'MALFORMED'],
    ['zero-width space', '\u200b1', 6, {}, 'MALFORMED'],
    ['lone minus', '-', 6, neg, 'MALFORMED'],
    ['lone plus', '+', 6, {}, 'MALFORMED'],
    ['double minus', '--1', 6, neg, 'MALFORMED'],
    ['plus minus', '+-1', 6, neg, 'MALFORMED'],
    ['trailing minus', '1-', 6, neg, 'MALFORMED'],
    ['dangling exponent', '1e', 6, {}, 'MALFORMED'],
    ['exponent without mantissa', 'e5', 6, {}, 'MALFORMED'],
    ['exponent with fraction exponent', '1e1.5', 6, {}, 'MALFORMED'],
    // Negative zero is a second spelling of 0; rejected even where negatives are fine.
    ['-0', '-0', 6, {}, 'MALFORMED'],
    ['-0 allowNegative', '-0', 6, neg, 'MALFORMED'],
    ['-0.0', '-0.0', 6, neg, 'MALFORMED'],
    ['-0.000000', '-0.000000', 6, neg, 'MALFORMED'],
    ['-0 decimals 0', '-0', 0, neg, 'MALFORMED'],
    // EXPONENT
    ['1e5', '1e5', 6, {}, 'EXPONENT'],
    ['1E5', '1E5', 6, {}, 'EXPONENT'],
    ['1E-3', '1E-3', 6, {}, 'EXPONENT'],
    ['1e+3', '1e+3', 6, {}, 'EXPONENT'],
    ['1.5e3', '1.5e3', 6, {}, 'EXPONENT'],
    ['1.e3', '1.e3', 6, {}, 'EXPONENT'],
    ['.5e1', '.5e1', 6, {}, 'EXPONENT'],
    ['0e0', '0e0', 6, {}, 'EXPONENT'],
    ['-1e5', '-1e5', 6, neg, 'EXPONENT'],
    ['-1e5 without allowNegative', '-1e5', 6, {}, 'EXPONENT'],
    ['1e5 decimals 0', '1e5', 0, {}, 'EXPONENT'],
    // SIGN_NOT_ALLOWED
    ['+1', '+1', 6, {}, 'SIGN_NOT_ALLOWED'],
    ['+1 allowNegative', '+1', 6, neg, 'SIGN_NOT_ALLOWED'],
    ['+0', '+0', 6, {}, 'SIGN_NOT_ALLOWED'],
    ['+0.5', '+0.5', 6, {}, 'SIGN_NOT_ALLOWED'],
    // NEGATIVE_NOT_ALLOWED
    ['-1', '-1', 6, {}, 'NEGATIVE_NOT_ALLOWED'],
    ['-1 explicit false', '-1', 6, { allowNegative: false }, 'NEGATIVE_NOT_ALLOWED'],
    ['-0.000001', '-0.000001', 6, {}, 'NEGATIVE_NOT_ALLOWED'],
    ['-12.5 decimals 2', '-12.5', 2, {}, 'NEGATIVE_NOT_ALLOWED'],
    // TOO_MANY_DECIMALS
    ['7 decimals for 6', '1.1234567', 6, {}, 'TOO_MANY_DECIMALS'],
    ['trailing zero beyond 6', '1.5000000', 6, {}, 'TOO_MANY_DECIMALS'],
    ['zero with too many zeros', '0.0000000', 6, {}, 'TOO_MANY_DECIMALS'],
    ['3 decimals for 2', '0.001', 2, {}, 'TOO_MANY_DECIMALS'],
    ['trailing zero beyond 2', '1.000', 2, {}, 'TOO_MANY_DECIMALS'],
    ['point for decimals 0', '1.5', 0, {}, 'TOO_MANY_DECIMALS'],
    ['.0 for decimals 0', '1.0', 0, {}, 'TOO_MANY_DECIMALS'],
    ['0.0 for decimals 0', '0.0', 0, {}, 'TOO_MANY_DECIMALS'],
    ['9 decimals for 8', '0.000000001', 8, {}, 'TOO_MANY_DECIMALS'],
    ['19 decimals for 18', `0.${zeros(18)}1`, 18, {}, 'TOO_MANY_DECIMALS'],
    ['31 decimals for 30', `0.${zeros(30)}1`, 30, {}, 'TOO_MANY_DECIMALS'],
    ['negative with too many', '-1.1234567', 6, neg, 'TOO_MANY_DECIMALS'],
    ['huge fraction', `0.${'1'.repeat(100_000)}`, 18, {}, 'TOO_MANY_DECIMALS'],
    // BAD_DECIMALS
    ['decimals -1', '1', -1, {}, 'BAD_DECIMALS'],
    ['decimals 79', '1', 79, {}, 'BAD_DECIMALS'],
    ['decimals 1.5', '1', 1.5, {}, 'BAD_DECIMALS'],
    ['decimals NaN', '1', NaN, {}, 'BAD_DECIMALS'],
    ['decimals Infinity', '1', Infinity, {}, 'BAD_DECIMALS'],
    ['decimals -0.5', '1', -0.5, {}, 'BAD_DECIMALS'],
    ['decimals string', '1', '6' as unknown as number, {}, 'BAD_DECIMALS'],
    ['decimals bigint', '1', 6n as unknown as number, {}, 'BAD_DECIMALS'],
    ['decimals undefined', '1', undefined as unknown as number, {}, 'BAD_DECIMALS'],
    ['decimals null', '1', null as unknown as number, {}, 'BAD_DECIMALS'],
    // OUT_OF_RANGE: numeric(78,0) means |units| < 10^78
    ['10^78 units, decimals 0', `1${zeros(78)}`, 0, {}, 'OUT_OF_RANGE'],
    ['10^78 units, decimals 18', `1${zeros(60)}`, 18, {}, 'OUT_OF_RANGE'],
    ['-10^78 units, decimals 0', `-1${zeros(78)}`, 0, neg, 'OUT_OF_RANGE'],
    ['1 with 78 decimals', '1', 78, {}, 'OUT_OF_RANGE'],
    ['million digits', nines(1_000_000), 0, {}, 'OUT_OF_RANGE'],
    // allowZero false reports OUT_OF_RANGE: zero is outside the allowed (0, limit) interval.
    ['zero disallowed', '0', 6, { allowZero: false }, 'OUT_OF_RANGE'],
    ['0.000 disallowed', '0.000', 6, { allowZero: false }, 'OUT_OF_RANGE'],
    ['0.000000 disallowed', '0.000000', 6, { allowZero: false }, 'OUT_OF_RANGE'],
    ['zero disallowed decimals 0', '0', 0, { allowZero: false }, 'OUT_OF_RANGE'],
    ['zero disallowed with negatives', '0', 6, { allowZero: false, allowNegative: true }, 'OUT_OF_RANGE'],
  ];

  it.each(cases)('%s: %j (decimals %j, opts %j) -> %s', (_label, input, decimals, opts, reason) => {
    expect(reasonOf(() => parseAmount(input, decimals, opts))).toBe(reason);
  });

  it('checks decimals before looking at the input', () => {
    expect(reasonOf(() => parseAmount(1, 99))).toBe('BAD_DECIMALS');
    expect(reasonOf(() => parseAmount('garbage', -1))).toBe('BAD_DECIMALS');
  });

  it('accepts a positive amount when allowZero is false', () => {
    expect(parseAmount('0.000001', 6, { allowZero: false })).toBe(1n);
    expect(parseAmount('-1', 6, { allowZero: false, allowNegative: true })).toBe(-1_000_000n);
  });
});

describe('parseAmount: messages for API users', () => {
  it.each<[string, () => unknown, string]>([
    ['too many decimals', () => parseAmount('1.1234567', 6), 'amount "1.1234567" has more than 6 decimals'],
    ['no decimals allowed', () => parseAmount('1.5', 0), 'amount "1.5" must be a whole number: this currency has no decimals'],
    ['zero not allowed', () => parseAmount('0', 6, { allowZero: false }), 'amount "0" must be greater than zero'],
    ['zero not allowed with negatives', () => parseAmount('0.0', 6, { allowZero: false, allowNegative: true }), 'amount "0.0" must not be zero'],
    ['negative', () => parseAmount('-1', 6), 'amount "-1" must not be negative'],
    ['plus sign', () => parseAmount('+1', 6), 'amount "+1" must not start with "+"'],
    ['empty', () => parseAmount('', 6), 'amount must not be empty'],
    ['whitespace', () => parseAmount(' 1', 6), 'amount " 1" must not contain spaces'],
    ['exponent', () => parseAmount('1e5', 6), 'amount "1e5" must not use exponent notation; write all digits out'],
    ['negative zero', () => parseAmount('-0', 6, { allowNegative: true }), 'amount "-0" is a negative zero; write "0"'],
    ['bad decimals', () => parseAmount('1', 79), 'decimals must be an integer from 0 to 78, got 79'],
    ['bad decimals string', () => parseAmount('1', '6' as unknown as number), 'decimals must be an integer from 0 to 78, got "6"'],
  ])('%s', (_label, fn, expected) => {
    expect(messageOf(fn)).toBe(expected);
  });

  it.each<[unknown, string]>([
    [1.5, 'a number'],
    [null, 'null'],
    [undefined, 'undefined'],
    [['1'], 'an array'],
    [{}, 'an object'],
    [1n, 'a bigint'],
  ])('names the wrong type %p as %s and asks for a string', (input, typeName) => {
    expect(messageOf(() => parseAmount(input, 6))).toBe(
      `amount must be a decimal string such as "12.5", got ${typeName}; send numbers as strings so no precision is lost`,
    );
  });

  it('explains the expected shape for malformed input', () => {
    const msg = messageOf(() => parseAmount('1,000', 6));
    expect(msg).toContain('"1,000"');
    expect(msg).toContain('"12.5"');
    expect(msg).toMatch(/leading zeros/);
  });

  it('escapes control characters when echoing input', () => {
    expect(messageOf(() => parseAmount('1\n', 6))).toBe('amount "1\\n" must not contain spaces');
  });

  it('truncates long input in messages', () => {
    const msg = messageOf(() => parseAmount(nines(10_000), 0));
    expect(msg.startsWith(`amount "${nines(40)}…" is too large`)).toBe(true);
    expect(msg.length).toBeLessThan(200);
  });

  it.each<[number, string]>([
    [0, 'at most 78 digits are allowed before the decimal point'],
    [18, 'at most 60 digits are allowed before the decimal point'],
    [78, 'it must be less than 1'],
  ])('states the integer-digit limit for decimals %i', (decimals, tail) => {
    expect(messageOf(() => parseAmount(`1${zeros(78 - decimals)}`, decimals))).toMatch(new RegExp(`is too large: ${tail}$`));
  });
});

describe('parseAmount: the 10^78 boundary', () => {
  // Largest and smallest-overflowing whole/fractional spellings for each decimals setting.
  const maxString = (d: number) => (d === 0 ? nines(78) : d === 78 ? `0.${nines(78)}` : `${nines(78 - d)}.${nines(d)}`);
  const overflowString = (d: number) => `1${zeros(78 - d)}`;

  it.each([...TEST_DECIMALS, 77, 78])('decimals %i: 10^78 - 1 base units is accepted', (d) => {
    expect(parseAmount(maxString(d), d)).toBe(E78 - 1n);
    expect(parseAmount(`-${maxString(d)}`, d, { allowNegative: true })).toBe(-(E78 - 1n));
  });

  it.each([...TEST_DECIMALS, 77])('decimals %i: 10^78 base units is OUT_OF_RANGE', (d) => {
    expect(reasonOf(() => parseAmount(overflowString(d), d))).toBe('OUT_OF_RANGE');
    expect(reasonOf(() => parseAmount(`-${overflowString(d)}`, d, { allowNegative: true }))).toBe('OUT_OF_RANGE');
  });

  it.each([...TEST_DECIMALS, 77])('decimals %i: the largest whole amount is accepted and one more is not', (d) => {
    const largestWhole = nines(78 - d);
    expect(parseAmount(largestWhole, d)).toBe(((E78 - 1n) / 10n ** BigInt(d)) * 10n ** BigInt(d));
    expect(reasonOf(() => parseAmount(`1${largestWhole.replace(/9/g, '0')}`, d))).toBe('OUT_OF_RANGE');
  });

  it('formats the extreme values back unchanged', () => {
    for (const d of [...TEST_DECIMALS, 78]) {
      expect(formatAmount(E78 - 1n, d)).toBe(maxString(d));
      expect(formatAmount(-(E78 - 1n), d)).toBe(`-${maxString(d)}`);
    }
  });
});

describe('formatAmount', () => {
  it.each<[bigint, number, string]>([
    [0n, 0, '0'],
    [0n, 2, '0'],
    [0n, 18, '0'],
    [0n, 78, '0'],
    [1_500_000n, 6, '1.5'],
    [1n, 18, '0.000000000000000001'],
    [-5n, 2, '-0.05'],
    [-1n, 18, '-0.000000000000000001'],
    [100n, 2, '1'],
    [1_000_000n, 6, '1'],
    [10n, 1, '1'],
    [1n, 1, '0.1'],
    [120n, 2, '1.2'],
    [105n, 2, '1.05'],
    [123n, 0, '123'],
    [-123n, 0, '-123'],
    [1000n, 0, '1000'],
    [1_234_567_890n, 8, '12.3456789'],
    [2_100_000_000_000_000n, 8, '21000000'],
    [-12_500_000n, 6, '-12.5'],
    [10n ** 30n, 30, '1'],
    [10n ** 30n + 1n, 30, `1.${zeros(29)}1`],
    [1n, 78, `0.${zeros(77)}1`],
    [10n ** 18n * 123n + 456n, 18, '123.000000000000000456'],
  ])('formats %s with %i decimals as %j', (units, decimals, expected) => {
    expect(formatAmount(units, decimals)).toBe(expected);
  });

  it.each<[number]>([[-1], [79], [1.5], [NaN], [Infinity], ['2' as unknown as number], [undefined as unknown as number]])(
    'rejects decimals %p with BAD_DECIMALS',
    (decimals) => {
      expect(reasonOf(() => formatAmount(1n, decimals))).toBe('BAD_DECIMALS');
    },
  );

  it.each<[unknown]>([[5], [1.5], ['5'], [null], [undefined], [{}]])('throws TypeError for non-bigint units %p', (units) => {
    expect(() => formatAmount(units as bigint, 2)).toThrow(TypeError);
    expect(() => formatAmount(units as bigint, 2)).toThrow(/units must be a bigint/);
  });

  it('never emits trailing zeros, a trailing point or a negative zero', () => {
    const rng = prng(7n);
    for (let i = 0; i < 200; i++) {
      const d = rng.pick([0, 1, 2, 6, 8, 18, 30, 78]);
      const units = rng.below10(1 + rng.int(78)) * (rng.int(2) ? -1n : 1n);
      const s = formatAmount(units, d);
      expect(s).not.toMatch(/\.$|\.[0-9]*0$|^-0$/);
      expect(isAmountString(s)).toBe(true);
    }
  });
});

describe('isAmountString', () => {
  it.each([
    '0',
    '1',
    '12',
    '12.5',
    '0.5',
    '0.000001',
    '1.50',
    '0.0',
    '0.000',
    '-1',
    '-0.5',
    '-0.05',
    '-12.5',
    '-0.01',
    '1234567890',
    nines(200),
    `0.${nines(200)}`,
  ])('accepts %j', (s) => {
    expect(isAmountString(s)).toBe(true);
  });

  it.each([
    '',
    ' ',
    ' 1',
    '1 ',
    '1 000',
    '12.',
    '.5',
    '.',
    '007',
    '00',
    '00.5',
    '01',
    '-',
    '+1',
    '+0',
    '-0',
    '-0.0',
    '-0.000',
    '--1',
    '1e5',
    '1E-3',
    '0x10',
    'Infinity',
    'NaN',
    '1,000',
    '1_000',
    '\uff11',
    '\u0661',
    '1.2.3',
    '1\n',
  ])('rejects %j', (s) => {
    expect(isAmountString(s)).toBe(false);
  });

  it.each<[unknown]>([[1], [null], [undefined], [1n], [{}]])('returns false for a non-string %p instead of throwing', (v) => {
    expect(isAmountString(v as string)).toBe(false);
  });

  // The GraphQL scalar uses isAmountString while domain code uses parseAmount; if they disagree on
  // syntax, a value passes the schema and then fails deep in a resolver (or the reverse).
  const SYNTAX_REASONS: MoneyErrorReason[] = ['EMPTY', 'NOT_A_STRING', 'MALFORMED', 'EXPONENT', 'SIGN_NOT_ALLOWED'];
  it.each([
    '0',
    '1',
    '12.5',
    '1.50',
    '-1',
    '-0.5',
    '0.0',
    '',
    ' ',
    '12.',
    '.5',
    '007',
    '00.5',
    '-0',
    '-0.0',
    '+1',
    '1e5',
    '0x10',
    'NaN',
    '1,000',
    '\uff11',
    nines(100),
    `1.${'1'.repeat(100)}`,
    '-',
  ])('agrees with parseAmount on the syntax of %j', (s) => {
    let syntaxOk: boolean;
    try {
      parseAmount(s, MAX_DECIMALS, { allowNegative: true });
      syntaxOk = true;
    } catch (err) {
      syntaxOk = !SYNTAX_REASONS.includes((err as MoneyError).reason);
    }
    expect(isAmountString(s)).toBe(syntaxOk);
  });
});

describe('round trips over generated values', () => {
  interface Generated {
    index: number;
    s: string;
    decimals: number;
    expected: bigint;
    intPart: string;
    fracPart: string;
  }

  /**
   * Builds canonical strings digit by digit (no leading zeros, no trailing fractional zeros, no
   * "-0") and computes their value arithmetically, independently of the parser's string padding.
   */
  function generate(seed: bigint, count: number): Generated[] {
    const rng = prng(seed);
    const out: Generated[] = [];
    const decimalsPool = [...TEST_DECIMALS, 1, 3, 77, 78];
    for (let index = 0; index < count; index++) {
      const decimals = rng.pick(decimalsPool);
      const maxInt = MAX_DECIMALS - decimals;
      // Bias a quarter of cases to the length extremes, where off-by-one bugs live.
      const intLen = rng.int(4) === 0 ? rng.pick([0, maxInt]) : rng.int(maxInt + 1);
      const fracLen = rng.int(4) === 0 ? rng.pick([0, decimals]) : rng.int(decimals + 1);
      let intPart = intLen === 0 ? '0' : rng.nonzeroDigit();
      for (let i = 1; i < intLen; i++) intPart += rng.digit();
      let fracPart = '';
      for (let i = 1; i < fracLen; i++) fracPart += rng.digit();
      if (fracLen > 0) fracPart += rng.nonzeroDigit();
      const magnitude = BigInt(intPart) * 10n ** BigInt(decimals) + (fracLen ? BigInt(fracPart) * 10n ** BigInt(decimals - fracLen) : 0n);
      const negative = magnitude !== 0n && rng.int(3) === 0;
      const body = fracLen ? `${intPart}.${fracPart}` : intPart;
      out.push({ index, s: negative ? `-${body}` : body, decimals, expected: negative ? -magnitude : magnitude, intPart, fracPart });
    }
    return out;
  }

  const strings = generate(0x5eedn, 300);

  it('generator is deterministic and covers the interesting shapes', () => {
    expect(generate(0x5eedn, 300)).toEqual(strings);
    expect(generate(0x5eefn, 5)).not.toEqual(strings.slice(0, 5));
    // A few "0"s repeat because both lengths can be drawn as zero; anything more means a stuck generator.
    expect(new Set(strings.map((g) => g.s)).size).toBeGreaterThan(270);
    expect(strings.some((g) => g.s.startsWith('-'))).toBe(true);
    expect(strings.some((g) => g.expected === 0n)).toBe(true);
    expect(strings.some((g) => g.intPart === '0' && g.fracPart !== '')).toBe(true);
    expect(strings.some((g) => g.decimals === 0)).toBe(true);
    expect(strings.some((g) => g.decimals > 0 && g.fracPart.length === g.decimals)).toBe(true);
    expect(strings.some((g) => g.intPart.length + g.decimals === MAX_DECIMALS && g.intPart !== '0')).toBe(true);
    for (const g of strings) expect(g.expected < 0n ? -g.expected : g.expected).toBeLessThanOrEqual(MAX_UNITS);
  });

  it.each(strings)('#$index: $s ($decimals decimals) parses exactly and formats back', ({ s, decimals, expected }) => {
    expect(isAmountString(s)).toBe(true);
    expect(parseAmount(s, decimals, { allowNegative: true })).toBe(expected);
    expect(formatAmount(expected, decimals)).toBe(s);
  });

  // Non-canonical but valid spellings ("1.50") must land on the same units and canonicalise.
  const padded = strings
    .filter((g) => g.fracPart.length < g.decimals)
    .slice(0, 100)
    .map((g) => {
      const extra = 1 + ((g.index * 7) % (g.decimals - g.fracPart.length));
      const s = g.fracPart ? `${g.s}${zeros(extra)}` : `${g.s}.${zeros(extra)}`;
      return { ...g, canonical: g.s, s };
    });

  it('has enough padded cases to matter', () => {
    expect(padded.length).toBeGreaterThanOrEqual(50);
  });

  it.each(padded)('#$index: padded $s parses and formats back to $canonical', ({ s, canonical, decimals, expected }) => {
    expect(parseAmount(s, decimals, { allowNegative: true })).toBe(expected);
    expect(formatAmount(parseAmount(s, decimals, { allowNegative: true }), decimals)).toBe(canonical);
  });

  const units = (() => {
    const rng = prng(0xb16n);
    return Array.from({ length: 100 }, (_, index) => {
      const decimals = rng.pick([...TEST_DECIMALS, 78]);
      const magnitude = rng.below10(1 + rng.int(78));
      return { index, decimals, units: rng.int(2) ? -magnitude : magnitude };
    });
  })();

  it.each(units)('#$index: units $units ($decimals decimals) survive format then parse', ({ units: u, decimals }) => {
    expect(parseAmount(formatAmount(u, decimals), decimals, { allowNegative: true })).toBe(u);
  });
});

describe('convertDecimals', () => {
  it.each<[bigint, number, number, bigint]>([
    [1n, 0, 6, 1_000_000n],
    [15n, 1, 18, 15n * 10n ** 17n],
    [-5n, 2, 8, -5_000_000n],
    [0n, 0, 78, 0n],
    [123n, 6, 6, 123n],
    [-123n, 18, 18, -123n],
    [1n, 6, 18, 10n ** 12n],
    [E78 - 1n, 0, 0, E78 - 1n],
  ])('scales %s up from %i to %i decimals -> %s', (u, from, to, expected) => {
    expect(convertDecimals(u, from, to)).toBe(expected);
  });

  it.each<[bigint, number, number, bigint]>([
    [1_500_000n, 6, 1, 15n],
    [-1_500_000n, 6, 1, -15n],
    [10n ** 18n, 18, 0, 1n],
    [0n, 78, 0, 0n],
    [1_000_000_000_000n, 18, 6, 1n],
    [-(10n ** 30n), 30, 2, -(10n ** 2n)],
    [10n ** 78n - 10n ** 60n, 78, 18, 10n ** 18n - 1n],
  ])('scales %s down from %i to %i decimals exactly -> %s', (u, from, to, expected) => {
    expect(convertDecimals(u, from, to)).toBe(expected);
  });

  it.each<[bigint, number, number]>([
    [1_500_001n, 6, 1],
    [-1n, 18, 17],
    [1n, 1, 0],
    [-15n, 1, 0],
    [123n, 30, 28],
    [10n ** 18n + 1n, 18, 0],
  ])('refuses to drop precision: %s from %i to %i decimals', (u, from, to) => {
    expect(reasonOf(() => convertDecimals(u, from, to))).toBe('TOO_MANY_DECIMALS');
  });

  it('says which amount would lose precision', () => {
    expect(messageOf(() => convertDecimals(1_500_001n, 6, 1))).toBe(
      'amount "1.500001" has more than 1 decimals and cannot be converted without losing precision',
    );
  });

  it.each<[number, number]>([
    [-1, 6],
    [6, -1],
    [79, 6],
    [6, 79],
    [1.5, 6],
    [6, NaN],
  ])('rejects from=%p to=%p with BAD_DECIMALS', (from, to) => {
    expect(reasonOf(() => convertDecimals(1n, from, to))).toBe('BAD_DECIMALS');
  });

  it('names the bad side in the message', () => {
    expect(messageOf(() => convertDecimals(1n, 6, 79))).toMatch(/^to must be an integer/);
    expect(messageOf(() => convertDecimals(1n, -1, 6))).toMatch(/^from must be an integer/);
  });

  it('throws TypeError for non-bigint units', () => {
    expect(() => convertDecimals(1 as unknown as bigint, 0, 6)).toThrow(TypeError);
  });

  it('is exactly reversible up then down for generated values', () => {
    const rng = prng(0xc0n);
    for (let i = 0; i < 200; i++) {
      const from = rng.int(40);
      const to = from + rng.int(39);
      const u = rng.below10(1 + rng.int(30)) * (rng.int(2) ? -1n : 1n);
      const up = convertDecimals(u, from, to);
      expect(up).toBe(u * 10n ** BigInt(to - from));
      expect(convertDecimals(up, to, from)).toBe(u);
      // Same human value on both sides: the decimal string must not change.
      expect(formatAmount(up, to)).toBe(formatAmount(u, from));
    }
  });
});

describe('mulRatio', () => {
  type Row = [units: bigint, num: bigint, den: bigint, floor: bigint, ceil: bigint, halfUp: bigint];
  const rows: Row[] = [
    // exact: all modes agree
    [1_000_000n, 25n, 10_000n, 2_500n, 2_500n, 2_500n],
    [-1_000_000n, 25n, 10_000n, -2_500n, -2_500n, -2_500n],
    [0n, 7n, 3n, 0n, 0n, 0n],
    [5n, 0n, 3n, 0n, 0n, 0n],
    [1n, 1n, 1n, 1n, 1n, 1n],
    // below half
    [10n, 1n, 3n, 3n, 4n, 3n],
    [999n, 25n, 10_000n, 2n, 3n, 2n],
    // exactly half
    [5n, 1n, 2n, 2n, 3n, 3n],
    [7n, 1n, 2n, 3n, 4n, 4n],
    [3n, 1n, 2n, 1n, 2n, 2n],
    [1n, 1n, 2n, 0n, 1n, 1n],
    // above half
    [10n, 2n, 3n, 6n, 7n, 7n],
    [1n, 2n, 3n, 0n, 1n, 1n],
    // negative units
    [-10n, 1n, 3n, -4n, -3n, -3n],
    [-10n, 2n, 3n, -7n, -6n, -7n],
    [-5n, 1n, 2n, -3n, -2n, -3n],
    [-3n, 1n, 2n, -2n, -1n, -2n],
    [-1n, 1n, 2n, -1n, 0n, -1n],
    [-1n, 1n, 3n, -1n, 0n, 0n],
    [-999n, 25n, 10_000n, -3n, -2n, -2n],
    // negative numerator behaves like negative units
    [10n, -1n, 3n, -4n, -3n, -3n],
    [5n, -1n, 2n, -3n, -2n, -3n],
    // both negative: positive product
    [-10n, -2n, 3n, 6n, 7n, 7n],
    // ratio above one
    [3n, 5n, 2n, 7n, 8n, 8n],
    // huge values stay exact (a float would have lost the low digits long ago)
    [E78 - 1n, 1n, 10n ** 18n, 10n ** 60n - 1n, 10n ** 60n, 10n ** 60n],
    [E78 - 1n, 3n, 3n, E78 - 1n, E78 - 1n, E78 - 1n],
  ];

  it.each(rows)('%s * %s / %s -> floor %s, ceil %s, half-up %s', (u, num, den, floor, ceil, halfUp) => {
    expect(mulRatio(u, num, den, 'floor')).toBe(floor);
    expect(mulRatio(u, num, den, 'ceil')).toBe(ceil);
    expect(mulRatio(u, num, den, 'half-up')).toBe(halfUp);
  });

  it('half-up is symmetric around zero, floor and ceil mirror each other', () => {
    const rng = prng(0xfeen);
    for (let i = 0; i < 200; i++) {
      const u = rng.below10(1 + rng.int(20));
      const num = rng.below10(1 + rng.int(6));
      const den = 1n + rng.below10(1 + rng.int(6));
      expect(mulRatio(-u, num, den, 'half-up')).toBe(-mulRatio(u, num, den, 'half-up'));
      expect(mulRatio(-u, num, den, 'floor')).toBe(-mulRatio(u, num, den, 'ceil'));
      const floor = mulRatio(u, num, den, 'floor');
      const ceil = mulRatio(u, num, den, 'ceil');
      // floor <= exact <= ceil, and they differ by one exactly when there is a remainder.
      expect(floor * den).toBeLessThanOrEqual(u * num);
      expect(ceil * den).toBeGreaterThanOrEqual(u * num);
      expect(ceil - floor).toBe((u * num) % den === 0n ? 0n : 1n);
    }
  });

  it.each<[bigint]>([[0n], [-1n], [-100n]])('rejects denominator %s with RangeError', (den) => {
    expect(() => mulRatio(10n, 1n, den, 'floor')).toThrow(RangeError);
    expect(() => mulRatio(10n, 1n, den, 'floor')).toThrow(/denominator must be greater than zero/);
  });

  it.each<[string]>([['round'], ['HALF_UP'], ['half-even'], ['']])('rejects unknown rounding %j even when the division is exact', (r) => {
    expect(() => mulRatio(10n, 1n, 1n, r as Rounding)).toThrow(RangeError);
  });

  it.each<[unknown, unknown, unknown]>([
    [10, 1n, 3n],
    [10n, 1, 3n],
    [10n, 1n, 3],
    ['10', 1n, 3n],
  ])('throws TypeError for non-bigint arguments (%p, %p, %p)', (u, num, den) => {
    expect(() => mulRatio(u as bigint, num as bigint, den as bigint, 'floor')).toThrow(TypeError);
  });
});

describe('parseDecimalRatio', () => {
  it.each<[string, number | undefined, bigint, bigint]>([
    ['0.005', undefined, 5n, 1000n],
    ['1', undefined, 1n, 1n],
    ['0', undefined, 0n, 1n],
    ['0.000', undefined, 0n, 1n],
    ['100', undefined, 100n, 1n],
    ['2.5', undefined, 25n, 10n],
    ['1.50', undefined, 15n, 10n],
    ['0.1', undefined, 1n, 10n],
    ['0.000000000000000001', undefined, 1n, 10n ** 18n],
    ['12.3400', undefined, 1234n, 100n],
    ['0.01', 2, 1n, 100n],
    ['3', 0, 3n, 1n],
    [`0.${zeros(29)}1`, 30, 1n, 10n ** 30n],
  ])('parses %j (maxDecimals %p) to %s/%s', (s, maxDecimals, numerator, denominator) => {
    const ratio = maxDecimals === undefined ? parseDecimalRatio(s) : parseDecimalRatio(s, maxDecimals);
    expect(ratio).toEqual({ numerator, denominator });
  });

  it.each<[string, unknown, number | undefined, MoneyErrorReason]>([
    ['19 decimals by default', `0.${zeros(18)}1`, undefined, 'TOO_MANY_DECIMALS'],
    ['3 decimals for max 2', '0.001', 2, 'TOO_MANY_DECIMALS'],
    ['trailing zero beyond max', '0.100', 2, 'TOO_MANY_DECIMALS'],
    ['fraction for max 0', '0.5', 0, 'TOO_MANY_DECIMALS'],
    ['negative', '-0.5', undefined, 'NEGATIVE_NOT_ALLOWED'],
    ['plus', '+0.5', undefined, 'SIGN_NOT_ALLOWED'],
    ['exponent', '5e-3', undefined, 'EXPONENT'],
    ['leading point', '.5', undefined, 'MALFORMED'],
    ['trailing point', '5.', undefined, 'MALFORMED'],
    ['leading zeros', '00.5', undefined, 'MALFORMED'],
    ['whitespace', ' 0.5', undefined, 'MALFORMED'],
    ['percent', '0.5%', undefined, 'MALFORMED'],
    ['negative zero', '-0', undefined, 'MALFORMED'],
    ['empty', '', undefined, 'EMPTY'],
    ['number', 0.5, undefined, 'NOT_A_STRING'],
    ['maxDecimals 79', '1', 79, 'BAD_DECIMALS'],
    ['maxDecimals -1', '1', -1, 'BAD_DECIMALS'],
    ['maxDecimals 1.5', '1', 1.5, 'BAD_DECIMALS'],
    ['too large for numeric(78,0) at 18 decimals', `1${zeros(60)}`, undefined, 'OUT_OF_RANGE'],
  ])('%s: %j (maxDecimals %p) -> %s', (_label, s, maxDecimals, reason) => {
    expect(reasonOf(() => parseDecimalRatio(s as string, maxDecimals))).toBe(reason);
  });

  it('words its errors for a value rather than an amount', () => {
    expect(messageOf(() => parseDecimalRatio('0.001', 2))).toBe('value "0.001" has more than 2 decimals');
  });

  it('feeds mulRatio exactly: a 0.5% tolerance on 1 USDT (6 decimals) is 5000 units', () => {
    const { numerator, denominator } = parseDecimalRatio('0.005');
    expect(mulRatio(1_000_000n, numerator, denominator, 'floor')).toBe(5_000n);
  });

  it('agrees with parseAmount and keeps the denominator minimal over generated values', () => {
    const rng = prng(0x7a7n);
    for (let i = 0; i < 200; i++) {
      const maxDecimals = rng.pick([0, 2, 6, 18, 30]);
      const fracLen = rng.int(maxDecimals + 1);
      let s = String(rng.below10(1 + rng.int(10)));
      if (fracLen) s += `.${Array.from({ length: fracLen }, () => rng.digit()).join('')}`;
      const { numerator, denominator } = parseDecimalRatio(s, maxDecimals);
      const scale = 10n ** BigInt(maxDecimals);
      expect((numerator * scale) / denominator).toBe(parseAmount(s, maxDecimals));
      expect((numerator * scale) % denominator).toBe(0n);
      expect(denominator === 1n || numerator % 10n !== 0n).toBe(true);
      expect(String(denominator)).toMatch(/^10*$/);
    }
  });
});

describe('sumAmounts', () => {
  it.each<[bigint[], bigint]>([
    [[], 0n],
    [[5n], 5n],
    [[1n, 2n, 3n], 6n],
    [[10n, -3n, -7n], 0n],
    [[-1n, -1n], -2n],
    [[E78 - 1n, 1n], E78],
    [Array.from({ length: 1000 }, () => 1n), 1000n],
  ])('sums %p to %s', (values, expected) => {
    expect(sumAmounts(values)).toBe(expected);
  });

  it.each<[unknown]>([[[1n, 2]], [['5']], [[1n, null]], [[undefined]]])('throws TypeError for non-bigint elements %p', (values) => {
    expect(() => sumAmounts(values as bigint[])).toThrow(TypeError);
  });

  it('names the offending index', () => {
    expect(() => sumAmounts([1n, 2n, '3' as unknown as bigint])).toThrow(/values\[2\] must be a bigint/);
  });

  it('throws TypeError when not given an array', () => {
    expect(() => sumAmounts(5n as unknown as bigint[])).toThrow(TypeError);
  });

  it('does not mutate its input', () => {
    const values = [1n, 2n];
    sumAmounts(values);
    expect(values).toEqual([1n, 2n]);
  });
});

describe('source hygiene', () => {
  // Floats sneak in through innocent-looking conversions; this guards the rule at review time.
  it('never converts amounts through JS numbers', () => {
    const source = readFileSync(join(__dirname, 'money.ts'), 'utf8');
    expect(source).not.toMatch(/\b(?:Number|parseFloat|parseInt)\s*\(/);
    expect(source).not.toMatch(/\bMath\./);
    expect(source).not.toMatch(/\btoFixed\b/);
  });
});
