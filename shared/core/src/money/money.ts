/**
 * Money lives inside the system as bigint base units (the coin's smallest unit, stored in Postgres
 * as numeric(78,0)) and crosses the API as decimal strings. Nothing here ever goes through a JS
 * number: a float cannot even hold 0.1 exactly, let alone an 18-decimal token balance, so an
 * amount that touched one is already wrong by the time anyone notices.
 */

/** Closed on purpose: callers map these to API errors, and a new reason is a contract change. */
export const MONEY_ERROR_REASONS = [
  'EMPTY',
  'NOT_A_STRING',
  'MALFORMED',
  'EXPONENT',
  'TOO_MANY_DECIMALS',
  'NEGATIVE_NOT_ALLOWED',
  'SIGN_NOT_ALLOWED',
  'BAD_DECIMALS',
  'OUT_OF_RANGE',
] as const;
export type MoneyErrorReason = (typeof MONEY_ERROR_REASONS)[number];

/** Messages are shown to API users as-is, so they name the offending value and what to send instead. */
export class MoneyError extends Error {
  readonly reason: MoneyErrorReason;
  constructor(reason: MoneyErrorReason, message: string) {
    super(message);
    this.reason = reason;
    this.name = 'MoneyError';
  }
}

/** numeric(78,0) holds 78 digits, so 78 decimals is the most a coin could use and still store 1 unit. */
export const MAX_DECIMALS = 78;
/** Largest absolute base-unit value that fits numeric(78,0). */
export const MAX_UNITS = 10n ** 78n - 1n;

const POW10: readonly bigint[] = Array.from({ length: MAX_DECIMALS + 1 }, (_, i) => 10n ** BigInt(i));

export interface ParseAmountOptions {
  /** Only ledger-style values (adjustments, refunds shown as debits) may be negative. */
  allowNegative?: boolean;
  /** Defaults to true; payments and withdrawals pass false because a zero one is meaningless. */
  allowZero?: boolean;
}

export type Rounding = 'floor' | 'ceil' | 'half-up';
const ROUNDINGS: readonly string[] = ['floor', 'ceil', 'half-up'] satisfies Rounding[];

export interface DecimalRatio {
  numerator: bigint;
  /** Always the smallest power of ten that is exact, so equal ratios compare equal field by field. */
  denominator: bigint;
}

// [0-9] rather than \d so the intent (ASCII only) survives anyone adding the `u` flag later.
const UNSIGNED_DECIMAL = /^(0|[1-9][0-9]*)(?:\.([0-9]+))?$/;
const EXPONENT_FORM = /^(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)[eE][+-]?[0-9]+$/;
const AMOUNT_SYNTAX = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?$/;
const NEGATIVE_ZERO = /^-0(?:\.0+)?$/;
const WHITESPACE = /\s/;
const NONZERO_DIGIT = /[1-9]/;

// Inputs come from API users and can be arbitrarily long; an error message must not echo megabytes.
const MAX_ECHO = 40;
function quote(input: string): string {
  return JSON.stringify(input.length > MAX_ECHO ? `${input.slice(0, MAX_ECHO)}…` : input);
}

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  const t = typeof value;
  if (t === 'undefined') return 'undefined';
  return /^[aeiou]/.test(t) ? `an ${t}` : `a ${t}`;
}

function describeValue(value: unknown): string {
  if (typeof value === 'number') return String(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'string') return quote(value);
  return describeType(value);
}

function assertDecimals(decimals: unknown, name = 'decimals'): asserts decimals is number {
  if (typeof decimals !== 'number' || !Number.isInteger(decimals) || decimals < 0 || decimals > MAX_DECIMALS) {
    throw new MoneyError('BAD_DECIMALS', `${name} must be an integer from 0 to ${MAX_DECIMALS}, got ${describeValue(decimals)}`);
  }
}

// A non-bigint here is a programming error (a number slipped past the parser), not bad user input.
function assertBigint(value: unknown, name: string): asserts value is bigint {
  if (typeof value !== 'bigint') throw new TypeError(`${name} must be a bigint, got ${describeType(value)}`);
}

function parseDecimal(input: unknown, decimals: number, opts: ParseAmountOptions, noun: string): bigint {
  assertDecimals(decimals);
  const allowNegative = opts.allowNegative ?? false;
  const allowZero = opts.allowZero ?? true;

  if (typeof input !== 'string') {
    throw new MoneyError(
      'NOT_A_STRING',
      `${noun} must be a decimal string such as "12.5", got ${describeType(input)}; send numbers as strings so no precision is lost`,
    );
  }
  if (input.trim() === '') throw new MoneyError('EMPTY', `${noun} must not be empty`);
  if (WHITESPACE.test(input)) throw new MoneyError('MALFORMED', `${noun} ${quote(input)} must not contain spaces`);

  // The sign is judged after the body, so "+abc" reports the real problem rather than the sign.
  const sign = input[0] === '-' || input[0] === '+' ? input[0] : '';
  const body = sign ? input.slice(1) : input;

  if (EXPONENT_FORM.test(body)) {
    throw new MoneyError('EXPONENT', `${noun} ${quote(input)} must not use exponent notation; write all digits out`);
  }
  const match = UNSIGNED_DECIMAL.exec(body);
  if (!match) {
    throw new MoneyError(
      'MALFORMED',
      `${noun} ${quote(input)} is not a decimal number: use digits 0-9 with an optional "." followed by digits, such as "12.5", without leading zeros`,
    );
  }
  const intPart = match[1];
  const fracPart = match[2] ?? '';
  const isZero = intPart === '0' && !NONZERO_DIGIT.test(fracPart);

  if (sign === '+') throw new MoneyError('SIGN_NOT_ALLOWED', `${noun} ${quote(input)} must not start with "+"`);
  if (sign === '-') {
    // "-0" would round-trip to "0", so accepting it would make two spellings of one value.
    if (isZero) throw new MoneyError('MALFORMED', `${noun} ${quote(input)} is a negative zero; write "0"`);
    if (!allowNegative) throw new MoneyError('NEGATIVE_NOT_ALLOWED', `${noun} ${quote(input)} must not be negative`);
  }
  // Strict even for trailing zeros: "1.50" for a 1-decimal coin means the client has the coin wrong.
  if (fracPart.length > decimals) {
    throw new MoneyError(
      'TOO_MANY_DECIMALS',
      decimals === 0
        ? `${noun} ${quote(input)} must be a whole number: this currency has no decimals`
        : `${noun} ${quote(input)} has more than ${decimals} decimals`,
    );
  }
  // Exact without building the bigint: n integer digits plus `decimals` fraction digits is below
  // 10^(n+decimals), which also keeps a hostile million-digit string from reaching BigInt().
  const maxIntDigits = MAX_DECIMALS - decimals;
  if (intPart !== '0' && intPart.length > maxIntDigits) {
    throw new MoneyError(
      'OUT_OF_RANGE',
      maxIntDigits === 0
        ? `${noun} ${quote(input)} is too large: it must be less than 1`
        : `${noun} ${quote(input)} is too large: at most ${maxIntDigits} digits are allowed before the decimal point`,
    );
  }
  if (isZero && !allowZero) {
    throw new MoneyError('OUT_OF_RANGE', allowNegative ? `${noun} ${quote(input)} must not be zero` : `${noun} ${quote(input)} must be greater than zero`);
  }
  const units = BigInt(intPart + fracPart.padEnd(decimals, '0'));
  return sign === '-' ? -units : units;
}

/** Decimal string in whole coin units -> bigint base units, e.g. ("12.5", 6) -> 12500000n. */
export function parseAmount(input: unknown, decimals: number, opts: ParseAmountOptions = {}): bigint {
  return parseDecimal(input, decimals, opts, 'amount');
}

/** Base units -> canonical decimal string: no trailing fractional zeros, no trailing point, "0" for zero. */
export function formatAmount(units: bigint, decimals: number): string {
  assertBigint(units, 'units');
  assertDecimals(decimals);
  const negative = units < 0n;
  const digits = (negative ? -units : units).toString();
  const sign = negative ? '-' : '';
  if (decimals === 0) return sign + digits;
  const padded = digits.padStart(decimals + 1, '0');
  const intPart = padded.slice(0, -decimals);
  const fracPart = padded.slice(-decimals).replace(/0+$/, '');
  return sign + (fracPart ? `${intPart}.${fracPart}` : intPart);
}

/**
 * Syntax only, for the GraphQL Amount scalar: the coin (and so the allowed decimals) is unknown
 * at that layer. Negative zero is refused here too so the scalar and parseAmount never disagree.
 */
export function isAmountString(s: string): boolean {
  return typeof s === 'string' && AMOUNT_SYNTAX.test(s) && !NEGATIVE_ZERO.test(s);
}

/** Rescale base units between coins/representations; refuses to silently drop dust when scaling down. */
export function convertDecimals(units: bigint, from: number, to: number): bigint {
  assertBigint(units, 'units');
  assertDecimals(from, 'from');
  assertDecimals(to, 'to');
  if (to >= from) return units * POW10[to - from];
  const factor = POW10[from - to];
  if (units % factor !== 0n) {
    throw new MoneyError(
      'TOO_MANY_DECIMALS',
      `amount ${quote(formatAmount(units, from))} has more than ${to} decimals and cannot be converted without losing precision`,
    );
  }
  return units / factor;
}

/**
 * units * numerator / denominator, rounded as asked. 'half-up' rounds halves away from zero, so
 * mulRatio(-x) === -mulRatio(x) and a refund mirrors its charge to the unit.
 */
export function mulRatio(units: bigint, numerator: bigint, denominator: bigint, rounding: Rounding): bigint {
  assertBigint(units, 'units');
  assertBigint(numerator, 'numerator');
  assertBigint(denominator, 'denominator');
  if (!ROUNDINGS.includes(rounding)) {
    throw new RangeError(`rounding must be one of ${ROUNDINGS.join(', ')}, got ${describeValue(rounding)}`);
  }
  if (denominator <= 0n) throw new RangeError(`denominator must be greater than zero, got ${denominator}`);

  const product = units * numerator;
  // bigint division truncates toward zero and the remainder takes the product's sign.
  const quotient = product / denominator;
  const remainder = product % denominator;
  if (remainder === 0n) return quotient;
  const awayFromZero = product < 0n ? quotient - 1n : quotient + 1n;
  switch (rounding) {
    case 'floor':
      return product < 0n ? awayFromZero : quotient;
    case 'ceil':
      return product > 0n ? awayFromZero : quotient;
    case 'half-up': {
      const absRemainder = remainder < 0n ? -remainder : remainder;
      return absRemainder * 2n >= denominator ? awayFromZero : quotient;
    }
  }
}

/**
 * Exact non-negative decimal such as "0.005" -> 5/1000, for tolerances and rates that feed
 * mulRatio. Same strictness as parseAmount; maxDecimals bounds precision like a coin's decimals.
 */
export function parseDecimalRatio(s: string, maxDecimals = 18): DecimalRatio {
  const scaled = parseDecimal(s, maxDecimals, { allowNegative: false, allowZero: true }, 'value');
  let numerator = scaled;
  let exponent = maxDecimals;
  while (exponent > 0 && numerator % 10n === 0n) {
    numerator /= 10n;
    exponent -= 1;
  }
  return { numerator, denominator: POW10[exponent] };
}

/** Sum of base units. Checked element by element because `0n + "5"` would concatenate, not add. */
export function sumAmounts(values: bigint[]): bigint {
  if (!Array.isArray(values)) throw new TypeError(`values must be an array of bigint, got ${describeType(values)}`);
  let total = 0n;
  values.forEach((value, i) => {
    assertBigint(value, `values[${i}]`);
    total += value;
  });
  return total;
}
