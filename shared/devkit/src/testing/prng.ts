// A seeded generator for property-style specs (money, status machine, ...).
/**
 * splitmix64: tiny, well-mixed, and deterministic, so a failing generated case is reproducible
 * from its index alone. Math.random would make failures unrepeatable.
 */
export function prng(seed: bigint) {
  const MASK = (1n << 64n) - 1n;
  let state = seed & MASK;
  const next64 = (): bigint => {
    state = (state + 0x9e3779b97f4a7c15n) & MASK;
    let z = state;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK;
    return z ^ (z >> 31n);
  };
  /** Uniform-enough integer in [0, n) for the small n used here; modulo bias is irrelevant for tests. */
  const int = (n: number): number => Number(next64() % BigInt(n));
  const digit = () => String(int(10));
  const nonzeroDigit = () => String(1 + int(9));
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
  /** Random bigint in [0, 10^digits), built from 64-bit words so every digit position varies. */
  const below10 = (digits: number): bigint => {
    const bound = 10n ** BigInt(digits);
    let acc = 0n;
    for (let bits = 0; bits < digits * 4 + 64; bits += 64) acc = (acc << 64n) | next64();
    return acc % bound;
  };
  return { next64, int, digit, nonzeroDigit, pick, below10, big: (n: bigint) => next64() % n };
}
