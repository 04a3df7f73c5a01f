import { formatAmount } from '@cpg/core/money';

// What the subgraph's consumers, RPC handlers and resolvers import about withdrawal rows: the row
// types and SQL live in withdrawal-store.ts, the outbox rows in withdrawal-events.ts.

export { type BatchRow, T, type WithdrawalRow, createBatch, lockWithdrawal } from './withdrawal-store';
export { emitLedger, emitUpdated } from './withdrawal-events';

export function fmt(units: string | bigint | null, decimals: number): string | null {
  return units === null ? null : formatAmount(BigInt(units), decimals);
}
