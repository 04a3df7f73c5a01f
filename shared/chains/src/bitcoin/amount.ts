import { formatAmount } from '@cpg/core/money';

/**
 * Bitcoin Core prints every amount with exactly 8 decimals (`0.00012345`), but JSON.parse hands
 * us an IEEE double. The conversion below never does arithmetic on that double: it reads the
 * shortest decimal text that JavaScript prints for it and moves the decimal point by string
 * manipulation.
 *
 * Why that text is exact: below 2^53 / 10^8 (about 90 million coins, above the Bitcoin and
 * Litecoin supplies) neighbouring 8-decimal values map to distinct doubles, and JavaScript
 * prints the shortest text that reads back to the same double. The node's own text is one such
 * candidate, and no other text with at most 8 decimals maps to that double, so the printed text
 * names the node's value (possibly with trailing zeros dropped, or in exponent form such as
 * `1e-7`, both handled here).
 */

export const SATS_PER_COIN_DECIMALS = 8;
/** Above this the reasoning above no longer holds; no Bitcoin-family chain gets near it. */
const MAX_EXACT_SATS = 2n ** 53n - 1n;

export class AmountFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AmountFormatError';
  }
}

const DECIMAL_TEXT = /^(-)?(\d+)(?:\.(\d+))?(?:e([+-]?\d+))?$/i;

/**
 * Node amount (coins, as the JSON number or a decimal string) -> base units. Throws
 * AmountFormatError for negatives, more than 8 decimals, non-finite values or values beyond
 * the exact range; callers treat that as a malformed node answer, never as zero.
 */
export function coinsToSats(value: number | string): bigint {
  let text: string;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new AmountFormatError(`amount ${value} is not finite`);
    text = String(value);
  } else if (typeof value === 'string') {
    text = value.trim();
  } else {
    throw new AmountFormatError(`amount has type ${typeof value}`);
  }
  const m = DECIMAL_TEXT.exec(text);
  if (!m) throw new AmountFormatError(`amount ${JSON.stringify(text)} is not a decimal number`);
  const [, minus, intDigits, fracDigits = '', expText] = m;
  const exponent = expText === undefined ? 0 : Number(expText);
  // Shift the decimal point: digits = int||frac, with (frac.length - exponent) digits after it.
  const digits = (intDigits + fracDigits).replace(/^0+(?=\d)/, '');
  let scale = fracDigits.length - exponent;
  let allDigits = digits;
  if (scale < 0) {
    allDigits = digits + '0'.repeat(-scale);
    scale = 0;
  }
  if (scale > SATS_PER_COIN_DECIMALS) {
    const extra = allDigits.slice(allDigits.length - (scale - SATS_PER_COIN_DECIMALS));
    if (/[1-9]/.test(extra)) throw new AmountFormatError(`amount ${text} has more than ${SATS_PER_COIN_DECIMALS} decimals`);
    allDigits = allDigits.slice(0, allDigits.length - (scale - SATS_PER_COIN_DECIMALS)) || '0';
    scale = SATS_PER_COIN_DECIMALS;
  }
  const sats = BigInt(allDigits + '0'.repeat(SATS_PER_COIN_DECIMALS - scale));
  if (minus && sats !== 0n) throw new AmountFormatError(`amount ${text} is negative`);
  if (sats > MAX_EXACT_SATS) throw new AmountFormatError(`amount ${text} is beyond the exact range`);
  return sats;
}

/**
 * Base units -> the decimal string the node's wallet RPCs accept (`sendtoaddress`), so no
 * double is ever built from money on the way out either.
 */
export function satsToCoins(sats: bigint): string {
  if (sats < 0n) throw new AmountFormatError('amount must not be negative');
  return formatAmount(sats, SATS_PER_COIN_DECIMALS);
}
