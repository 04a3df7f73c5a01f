// Amounts are decimal strings (the API never sends floats); the little arithmetic the page needs
// is done on integers of the coin's smallest unit.

export function toUnits(amount: string, decimals: number): bigint {
  const negative = amount.startsWith('-');
  const [whole = '0', frac = ''] = amount.replace(/^-/, '').split('.');
  const units = BigInt(whole || '0') * 10n ** BigInt(decimals) + BigInt((frac + '0'.repeat(decimals)).slice(0, decimals) || '0');
  return negative ? -units : units;
}

export function fromUnits(units: bigint, decimals: number): string {
  const negative = units < 0n;
  const abs = negative ? -units : units;
  const base = 10n ** BigInt(decimals);
  const frac = decimals > 0 ? (abs % base).toString().padStart(decimals, '0').replace(/0+$/, '') : '';
  return `${negative ? '-' : ''}${abs / base}${frac ? `.${frac}` : ''}`;
}

export function subtract(a: string, b: string, decimals: number): string {
  return fromUnits(toUnits(a, decimals) - toUnits(b, decimals), decimals);
}

/** `part` of `amount` (e.g. 1/2), rounded down to the coin's smallest unit; at least one unit. */
export function fraction(amount: string, decimals: number, num: bigint, den: bigint): bigint {
  const units = (toUnits(amount, decimals) * num) / den;
  return units > 0n ? units : 1n;
}
