/**
 * Runs two workloads in alternating rounds for `budgetMs` (at least 4 rounds each) and returns
 * their throughputs in ops/s. Alternating, rather than one after the other, spreads the noise of
 * a shared machine over both sides, so their ratio means something. Each function returns the
 * number of operations it did.
 */
export function race(a: () => number, b: () => number, budgetMs: number): [number, number] {
  a();
  b(); // warm-up: JIT, caches of the code under test
  const ops = [0, 0];
  const time = [0, 0];
  const fns = [a, b];
  const end = performance.now() + budgetMs;
  for (let round = 0; performance.now() < end || round < 4; round++) {
    const i = round % 2;
    const t0 = performance.now();
    ops[i]! += fns[i]!();
    time[i]! += performance.now() - t0;
  }
  return [(ops[0]! / time[0]!) * 1000, (ops[1]! / time[1]!) * 1000];
}
