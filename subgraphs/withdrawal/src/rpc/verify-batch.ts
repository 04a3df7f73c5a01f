import type { ServiceDeps } from '@cpg/core/http';
import { batchMismatch } from '../domain/verify-batch';
import { type BatchRow, T, type WithdrawalRow } from '../services/rows';

/**
 * `withdrawal.verify_batch`: the signer asks before it stores (and so before it pays) a
 * `withdrawal.batch.ready` it has not seen yet, so a forged or altered message pays nothing.
 * Read-only; answers from this subgraph's own rows (see domain/verify-batch).
 */
export function serveVerifyBatch({ bus, orm, log }: Pick<ServiceDeps, 'bus' | 'orm' | 'log'>): void {
  bus.reply('withdrawal.verify_batch', async (claim) => {
    const em = orm.em.fork();
    const [batch] = await em.execute<BatchRow[]>(`select * from ${T}.batches where id = ?`, [claim.batchId]);
    const rows = batch ? await em.execute<WithdrawalRow[]>(`select * from ${T}.withdrawals where batch_id = ?`, [claim.batchId]) : [];
    const reason = batchMismatch(
      batch ? { merchantId: batch.merchant_id, networkId: batch.network_id, coinId: batch.coin_id, status: batch.status } : null,
      rows.map((r) => ({ withdrawalId: r.id, toAddress: r.to_address, amount: BigInt(r.amount), status: r.status })),
      claim,
    );
    if (reason === null) return { ok: true as const };
    log.warn({ batchId: claim.batchId, reason }, 'withdrawal.verify_batch: not a batch that may be sent');
    return { ok: false as const, reason };
  });
}
