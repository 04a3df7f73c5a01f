import { RateUnavailableError } from './provider';

/**
 * Provider numbers -> canonical rate strings, without ever passing through a JS number. CoinGecko
 * sends JSON numbers (sometimes in exponent form, "6.7e-05"), Kraken sends strings with padding
 * zeros ("65000.10000"); both end up as the shortest exact decimal, e.g. "65000.1".
 */

/** Pricing divides by the rate, so more digits than this are noise, not precision. */
export const RATE_DECIMALS = 18;
/** No coin is worth 10^24 of any fiat; more integer digits means a parsing or unit mistake. */
const MAX_INTEGER_DIGITS = 24;
const NUMBER = /^([0-9]+)(?:\.([0-9]+))?(?:[eE]([+-]?[0-9]+))?$/;

/**
 * Exact decimal text -> canonical positive rate. Digits beyond RATE_DECIMALS are cut off
 * (rounded down): a slightly smaller rate asks the customer for slightly more coin, never less.
 * Throws RateUnavailableError naming `source` for anything that is not a positive number.
 */
export function normalizeRate(text: string, source: string): string {
  const m = typeof text === 'string' ? NUMBER.exec(text) : null;
  if (!m) throw new RateUnavailableError(`${source}: rate ${JSON.stringify(String(text).slice(0, 40))} is not a positive decimal number`);
  const exponent = m[3] === undefined ? 0 : Number(m[3]);
  // Guarded before building strings, so a hostile "1e999999999" cannot allocate a gigabyte.
  if (!Number.isSafeInteger(exponent) || Math.abs(exponent) > 64) throw new RateUnavailableError(`${source}: rate ${text} is out of range`);
  const digits = m[1] + (m[2] ?? '');
  const pointAt = m[1].length + exponent;
  const padded = pointAt <= 0 ? '0'.repeat(1 - pointAt) + digits : pointAt > digits.length ? digits + '0'.repeat(pointAt - digits.length) : digits;
  const split = pointAt <= 0 ? 1 : pointAt;
  const intPart = padded.slice(0, split).replace(/^0+(?=[0-9])/, '');
  const fracPart = padded.slice(split, split + RATE_DECIMALS).replace(/0+$/, '');
  if (intPart.length > MAX_INTEGER_DIGITS) throw new RateUnavailableError(`${source}: rate ${text} is out of range`);
  if (intPart === '0' && fracPart === '') throw new RateUnavailableError(`${source}: rate ${text} is zero after keeping ${RATE_DECIMALS} decimals`);
  return fracPart ? `${intPart}.${fracPart}` : intPart;
}

// Sticky (y) so each token is matched in place instead of slicing the text at every step.
// Raw control characters are exactly what RFC 8259 forbids inside strings, hence the range.
// eslint-disable-next-line no-control-regex
const STRING = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;
const JSON_NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;

/** A JSON number kept as its source text, because JSON.parse would turn it into a float. */
export class JsonNumber {
  constructor(readonly text: string) {}
}
export type JsonValue = null | boolean | string | JsonNumber | JsonValue[] | { [key: string]: JsonValue };

/**
 * JSON.parse, except numbers stay as their exact text (JsonNumber). Node 20 has no reviver
 * access to the source text, and a provider's rate must not be rounded by the parser. Strict
 * RFC 8259; throws SyntaxError on anything else.
 */
export function parseJsonExact(text: string): JsonValue {
  let i = 0;
  const fail = (what: string): never => {
    throw new SyntaxError(`invalid JSON: ${what} at offset ${i}`);
  };
  const ws = () => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i += 1;
  };
  const literal = (word: string, value: JsonValue): JsonValue => {
    if (text.startsWith(word, i)) {
      i += word.length;
      return value;
    }
    return fail('unexpected token');
  };
  const string = (): string => {
    STRING.lastIndex = i;
    const m = STRING.exec(text);
    if (!m) return fail('bad string');
    i += m[0].length;
    return JSON.parse(m[0]) as string;
  };
  const number = (): JsonNumber => {
    JSON_NUMBER.lastIndex = i;
    const m = JSON_NUMBER.exec(text);
    if (!m) return fail('bad number');
    i += m[0].length;
    return new JsonNumber(m[0]);
  };
  const value = (depth: number): JsonValue => {
    if (depth > 64) fail('nesting too deep');
    ws();
    const c = text[i];
    if (c === '{') {
      i += 1;
      const obj: { [key: string]: JsonValue } = Object.create(null) as { [key: string]: JsonValue };
      ws();
      if (text[i] === '}') {
        i += 1;
        return obj;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail('expected a key');
        const key = string();
        ws();
        if (text[i] !== ':') fail('expected ":"');
        i += 1;
        obj[key] = value(depth + 1);
        ws();
        if (text[i] === ',') i += 1;
        else if (text[i] === '}') {
          i += 1;
          return obj;
        } else fail('expected "," or "}"');
      }
    }
    if (c === '[') {
      i += 1;
      const arr: JsonValue[] = [];
      ws();
      if (text[i] === ']') {
        i += 1;
        return arr;
      }
      for (;;) {
        arr.push(value(depth + 1));
        ws();
        if (text[i] === ',') i += 1;
        else if (text[i] === ']') {
          i += 1;
          return arr;
        } else fail('expected "," or "]"');
      }
    }
    if (c === '"') return string();
    if (c === 't') return literal('true', true);
    if (c === 'f') return literal('false', false);
    if (c === 'n') return literal('null', null);
    return number();
  };
  const result = value(0);
  ws();
  if (i !== text.length) fail('trailing characters');
  return result;
}

export function isJsonObject(v: JsonValue | undefined): v is { [key: string]: JsonValue } {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof JsonNumber);
}
