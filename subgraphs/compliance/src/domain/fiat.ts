/**
 * Fiat values in integer cents, from base units and a decimal rate string, without floats.
 * floor(amount / 10^decimals * rate * 100).
 */
export function fiatCents(amount: bigint, decimals: number, rate: string): bigint {
  const r = parseRate(rate);
  return (amount * r.times100) / denominator(decimals, r.fracDigits);
}

// A handful of rates and decimals recur in every screening: parse and raise them once, so a
// screening costs one bigint multiplication and one division.
const rates = new Map<string, { times100: bigint; fracDigits: number }>();
const denominators = new Map<number, bigint>();

function parseRate(rate: string): { times100: bigint; fracDigits: number } {
  let r = rates.get(rate);
  if (!r) {
    const m = /^(\d+)(?:\.(\d+))?$/.exec(rate.trim());
    if (!m) throw new RangeError(`rate must be a non-negative decimal, got ${JSON.stringify(rate)}`);
    const frac = m[2] ?? '';
    r = { times100: BigInt(m[1]! + frac) * 100n, fracDigits: frac.length };
    if (rates.size > 1000) rates.clear();
    rates.set(rate, r);
  }
  return r;
}

function denominator(decimals: number, fracDigits: number): bigint {
  const k = decimals * 1000 + fracDigits;
  let d = denominators.get(k);
  if (d === undefined) {
    d = 10n ** BigInt(decimals + fracDigits);
    denominators.set(k, d);
  }
  return d;
}

/** Whole units of fiat -> cents, e.g. "1000" -> 100000n. */
export function usdToCents(usd: number): bigint {
  if (!Number.isFinite(usd) || usd < 0) throw new RangeError('a threshold is a non-negative number');
  return BigInt(Math.round(usd * 100));
}

export function formatCents(c: bigint): string {
  const neg = c < 0n;
  const a = neg ? -c : c;
  return `${neg ? '-' : ''}${a / 100n}.${(a % 100n).toString().padStart(2, '0')}`;
}
