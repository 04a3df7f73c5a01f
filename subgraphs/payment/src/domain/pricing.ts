import { AppError, badInput } from '@cpg/core/graphql';
import { MAX_DECIMALS, MAX_UNITS, formatAmount, mulRatio, parseDecimalRatio, type DecimalRatio } from '@cpg/core/money';

/**
 * Fiat price -> coin amount, for createPayment with `priceAmount` + `priceCurrency`. The rate is
 * fetched once, when the payment is created, and stored with it: the amount the customer owes
 * never moves with the market during the payment's life.
 *
 * amount = ceil(price / rate * 10^decimals), computed as one exact fraction. Rounding up to the
 * coin's base unit means the merchant never receives less than the price; the customer pays at
 * most one base unit more.
 */

/** ISO 4217 alphabetic codes are three upper-case Latin letters; the list itself is the rate provider's business. */
const CURRENCY = /^[A-Z]{3}$/;
/** ISO 4217 minor units go up to 4 (e.g. CLF); more is a client error, not a currency. */
export const MAX_PRICE_DECIMALS = 4;
/** A trillion of any fiat is no invoice; refusing it catches unit mix-ups (cents sent as units). */
export const MAX_PRICE = 1_000_000_000_000n;
/** Providers quote at most 18 decimals; more precision would be noise. */
export const MAX_RATE_DECIMALS = 18;

export interface PriceRequest {
  /** Decimal string from the API, e.g. "19.99". */
  priceAmount: string;
  /** ISO 4217, e.g. "EUR". */
  priceCurrency: string;
  /** Fiat per 1 whole coin, a decimal string from the rate service, e.g. "65000.12". */
  rate: string;
  /** The coin's decimals, from the coin's config. */
  coinDecimals: number;
}

export interface PricedAmount {
  /** Base units the customer owes. */
  amount: bigint;
  /** Canonical spelling, as stored and shown. */
  priceAmount: string;
  priceCurrency: string;
  /** The locked rate, canonical spelling, as stored on the payment. */
  rate: string;
}

function canonical(r: DecimalRatio): string {
  const decimals = r.denominator.toString().length - 1;
  return formatAmount(r.numerator, decimals);
}

function parsePrice(priceAmount: string): DecimalRatio {
  let price: DecimalRatio;
  try {
    price = parseDecimalRatio(priceAmount, MAX_PRICE_DECIMALS);
  } catch {
    throw badInput(`priceAmount must be a decimal string such as "19.99" with at most ${MAX_PRICE_DECIMALS} decimals`, { field: 'priceAmount' });
  }
  if (price.numerator === 0n) throw badInput('priceAmount must be greater than zero', { field: 'priceAmount' });
  if (price.numerator > MAX_PRICE * price.denominator) throw badInput(`priceAmount must be at most ${MAX_PRICE}`, { field: 'priceAmount' });
  return price;
}

// The rate is not the API user's input: a broken one means the rate source failed, so the caller
// sees UNAVAILABLE (try again) rather than being told their request was wrong.
function parseRate(rate: string): DecimalRatio {
  let r: DecimalRatio;
  try {
    r = parseDecimalRatio(rate, MAX_RATE_DECIMALS);
  } catch {
    throw new AppError('UNAVAILABLE', 'no usable exchange rate right now; try again later');
  }
  if (r.numerator === 0n) throw new AppError('UNAVAILABLE', 'no usable exchange rate right now; try again later');
  return r;
}

/**
 * The merchant's spelling of a price currency ("usd", " USD") -> the code as stored ("USD"), or
 * BAD_USER_INPUT naming the currencies this gateway prices in. A currency outside that list is the
 * caller's mistake, never an outage: asking the rate providers would answer UNAVAILABLE ("try
 * again later") for a request that can never succeed.
 */
export function priceCurrencyOf(given: unknown, configured: readonly string[]): string {
  const code = typeof given === 'string' ? given.trim().toUpperCase() : '';
  const list = configured.join(', ');
  if (!CURRENCY.test(code)) {
    throw badInput(`priceCurrency must be an ISO 4217 code this gateway prices in: ${list}`, { field: 'priceCurrency', currencies: [...configured] });
  }
  if (!configured.includes(code)) {
    throw badInput(`priceCurrency ${code} is not configured on this gateway; use one of: ${list}`, { field: 'priceCurrency', currencies: [...configured] });
  }
  return code;
}

/** Validates the fiat inputs and converts at the given rate. Pure; throws AppError. */
export function priceToAmount(req: PriceRequest): PricedAmount {
  if (typeof req.priceCurrency !== 'string' || !CURRENCY.test(req.priceCurrency)) {
    throw badInput('priceCurrency must be an ISO 4217 code of three upper-case letters, such as "EUR"', { field: 'priceCurrency' });
  }
  const price = parsePrice(req.priceAmount);
  const rate = parseRate(req.rate);
  if (!Number.isInteger(req.coinDecimals) || req.coinDecimals < 0 || req.coinDecimals > MAX_DECIMALS) {
    throw new RangeError(`coinDecimals must be an integer from 0 to ${MAX_DECIMALS}, got ${String(req.coinDecimals)}`);
  }
  // price/rate coins = (pn/pd) / (rn/rd) = pn*rd / (pd*rn); times 10^decimals for base units.
  const scaledPrice = price.numerator * 10n ** BigInt(req.coinDecimals);
  const amount = mulRatio(scaledPrice, rate.denominator, price.denominator * rate.numerator, 'ceil');
  if (amount > MAX_UNITS) throw badInput('priceAmount is too large for this coin at the current rate', { field: 'priceAmount' });
  return { amount, priceAmount: canonical(price), priceCurrency: req.priceCurrency, rate: canonical(rate) };
}
