/**
 * Process-wide event counters (refusals, dropped messages): a plain in-process map until a
 * metrics module exists. Shown in every process's /readyz JSON under `counters`, so an operator
 * (or a test) can see that something was refused without reading logs. Names carry the service
 * (`signer.collect_sign.refused`), so services sharing one process (tests) stay apart.
 */
const counts = new Map<string, number>();

/** Called where the counted thing happens; cheap and synchronous. */
export function countEvent(name: string, by = 1): void {
  counts.set(name, (counts.get(name) ?? 0) + by);
}

/** A copy of every counter, for health endpoints and tests; read-only. */
export function counterSnapshot(): Record<string, number> {
  return Object.fromEntries(counts);
}
