/**
 * Fiat values in integer cents, from base units and a decimal rate string, without floats.
 * floor(amount / 10^decimals * rate * 100).
 */
export function fiatCents(amount: bigint, decimals: number, rate: string): bigint {
  const [scaled, fracDigits] = parseRate(rate);
  return (amount * scaled * 100n) / (pow10(decimals) * pow10(fracDigits));
}

// A handful of rates and decimals recur in every screening: parse and raise them once.
const rates = new Map<string, [bigint, number]>();
const powers: bigint[] = [];

function parseRate(rate: string): [bigint, number] {
  let r = rates.get(rate);
  if (!r) {
    const m = /^(\d+)(?:\.(\d+))?$/.exec(rate.trim());
    if (!m) throw new RangeError(`rate must be a non-negative decimal, got ${JSON.stringify(rate)}`);
    const frac = m[2] ?? '';
    r = [BigInt(m[1]! + frac), frac.length];
    if (rates.size > 1000) rates.clear();
    rates.set(rate, r);
  }
  return r;
}

function pow10(n: number): bigint {
  return (powers[n] ??= 10n ** BigInt(n));
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
