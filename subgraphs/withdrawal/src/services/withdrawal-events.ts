import { type EntityManager, deterministicId, writeOutbox } from '@cpg/core/db';
import { SCHEMA } from '../../migrations';

// Outbox rows about withdrawals, written in the caller's transaction with the change they
// announce; the relay publishes them after the commit.

/** `withdrawal.updated` for subscriptions and webhooks, in the caller's transaction. */
export async function emitUpdated(tx: EntityManager, row: { id: string; merchant_id: string }, event: string, status: string): Promise<void> {
  await writeOutbox(tx, SCHEMA, 'withdrawal.updated', { withdrawalId: row.id, merchantId: row.merchant_id, event, status }, { key: row.id });
}

/**
 * The ledger effect of a withdrawal's end, in the caller's transaction. The message id is derived
 * from the withdrawal and the action, so writing it twice publishes it once; the ledger's own key
 * per withdrawal makes release and settle exclusive.
 */
export async function emitLedger(
  tx: EntityManager,
  row: { id: string; merchant_id: string; coin_id: string; amount: string },
  action: 'release' | 'settle',
  fee: { fee: bigint; feeCoinId: string } | null = null,
): Promise<void> {
  await writeOutbox(
    tx,
    SCHEMA,
    'withdrawal.ledger',
    {
      withdrawalId: row.id,
      merchantId: row.merchant_id,
      coinId: row.coin_id,
      action,
      amount: BigInt(row.amount).toString(),
      fee: fee ? fee.fee.toString() : null,
      feeCoinId: fee ? fee.feeCoinId : null,
    },
    { key: row.id, id: deterministicId(`withdrawal:${row.id}:ledger:${action}`) },
  );
}
