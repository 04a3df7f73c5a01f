import { eventually } from '@cpg/devkit/testing';
import type { Stack } from './stack';

/** One line of the operator's `reconciliation` query (amounts as decimal strings of the coin). */
export interface ReconciliationLine {
  coin: { id: string };
  onChain: string;
  ledger: string;
  inFlight: string;
  difference: string;
  openSweeps: number;
  addresses: number;
}

const QUERY = `query($m: ID!) { reconciliation(merchantId: $m) { coin { id } onChain ledger inFlight difference openSweeps addresses } }`;

/** The merchant's books against the chain now, per coin, through the gateway as the operator. */
export async function reconcile(stack: Pick<Stack, 'operator'>, merchantId: string): Promise<ReconciliationLine[]> {
  const res = await stack.operator(QUERY, { m: merchantId });
  if (!res.data) throw new Error(`reconciliation failed: ${JSON.stringify(res.errors)}`);
  return res.data.reconciliation as ReconciliationLine[];
}

const settled = (l: ReconciliationLine) => l.difference === '0' && l.inFlight === '0' && l.openSweeps === 0;

/**
 * Waits until every coin of the merchant reconciles: no sweep step open, every fee booked, and the
 * chain equal to the ledger to the base unit (deposits and sweeps in flight settle meanwhile).
 * `coins` must all appear. Returns the settled lines; on timeout the last lines are in the error.
 */
export async function reconciled(
  stack: Pick<Stack, 'operator'>,
  merchantId: string,
  coins: string[],
  timeoutMs = 60_000,
): Promise<Map<string, ReconciliationLine>> {
  let last: ReconciliationLine[] = [];
  try {
    await eventually(
      async () => {
        last = await reconcile(stack, merchantId);
        return coins.every((c) => last.some((l) => l.coin.id === c)) && last.every(settled);
      },
      'the reconciliation to settle at zero',
      timeoutMs,
      300,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; last lines: ${JSON.stringify(last)}`);
  }
  return new Map(last.map((l) => [l.coin.id, l]));
}
