/** A due delivery the dispatcher could send now. */
export interface Candidate {
  id: string;
  endpointId: string;
  merchantId: string;
}

export interface FairShareLimits {
  perEndpoint: number;
  perMerchant: number;
}

/**
 * Chooses up to `room` deliveries to send, round robin across merchants: each merchant's oldest
 * sendable delivery first, then each one's second, and so on. A delivery is skipped (not a
 * blocker for the merchant's others) while its endpoint already has `perEndpoint` in flight, and
 * a merchant is skipped once it has `perMerchant` in flight, so one merchant's slow or hanging
 * endpoints hold at most `perMerchant` slots and every other merchant still gets its turn.
 *
 * `candidates` come oldest first; `busy*` count sends already in flight (cluster-wide).
 */
export function pickFairly(
  candidates: readonly Candidate[],
  busyByEndpoint: ReadonlyMap<string, number>,
  busyByMerchant: ReadonlyMap<string, number>,
  limits: FairShareLimits,
  room: number,
): string[] {
  const queues = new Map<string, Candidate[]>();
  for (const c of candidates) {
    const q = queues.get(c.merchantId);
    if (q) q.push(c);
    else queues.set(c.merchantId, [c]);
  }
  const endpointLoad = new Map(busyByEndpoint);
  const merchantLoad = new Map(busyByMerchant);
  const chosen: string[] = [];
  // Merchants in the order of their oldest delivery; one pick per merchant per round.
  let turn = [...queues.keys()];
  while (chosen.length < room && turn.length) {
    const next: string[] = [];
    for (const merchantId of turn) {
      if (chosen.length >= room) break;
      if ((merchantLoad.get(merchantId) ?? 0) >= limits.perMerchant) continue;
      const queue = queues.get(merchantId)!;
      const at = queue.findIndex((c) => (endpointLoad.get(c.endpointId) ?? 0) < limits.perEndpoint);
      if (at < 0) continue;
      const [c] = queue.splice(at, 1);
      chosen.push(c!.id);
      endpointLoad.set(c!.endpointId, (endpointLoad.get(c!.endpointId) ?? 0) + 1);
      merchantLoad.set(merchantId, (merchantLoad.get(merchantId) ?? 0) + 1);
      if (queue.length) next.push(merchantId);
    }
    turn = next;
  }
  return chosen;
}
