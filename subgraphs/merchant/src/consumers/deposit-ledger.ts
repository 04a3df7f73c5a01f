import type { ServiceDeps } from '@cpg/shared/http';
import { applyOnce } from '@cpg/shared/db';
import { PoisonMessageError } from '@cpg/shared/bus';
import { SCHEMA } from '../../migrations';
import { LedgerService } from '../ledger/ledger-service';
import { type DepositRef, depositConfirmed, depositReorgedAfterCredit, depositReorgedBeforeCredit, depositSeen, unsolicitedCredit } from '../ledger/postings';

const CONSUMER = 'merchant-deposit-ledger';

/** `network:txHash:index`, with `#generation` once a reorged transfer was mined again. */
export function parseDepositKey(key: string): DepositRef {
  const m = /^([a-z0-9-]+):([^:#]+):(\d+)(?:#(\d+))?$/.exec(key);
  if (!m) throw new PoisonMessageError(`bad deposit key ${key}`);
  return { network: m[1]!, txHash: m[2]!, index: Number(m[3]), generation: m[4] ? Number(m[4]) : 0 };
}

/**
 * Posts the ledger effect of each deposit the payment subgraph reports. The message marker makes
 * a redelivery a no-op, and every posting carries its own per-deposit key, so even the same
 * effect arriving under another message id (a replay after a reset) is posted once.
 */
export async function startDepositLedgerConsumer({ bus, orm }: ServiceDeps): Promise<void> {
  await bus.consume({
    durable: CONSUMER,
    types: ['payment.deposit_ledger'],
    handler: async (event) => {
      const d = event.data;
      const deposit = parseDepositKey(d.depositKey);
      const base = { merchantId: d.merchantId, coinId: d.coinId, deposit, amount: BigInt(d.amount) };
      await applyOnce(orm.em.fork(), SCHEMA, CONSUMER, event.id, async (tx) => {
        const ledger = new LedgerService(tx);
        // Whether pending holds this deposit decides where the credit comes from.
        const wasSeen = async () => {
          const rows = await tx.execute<{ n: number }[]>(`select 1 as n from "${SCHEMA}".ledger_transactions where idempotency_key = ?`, [
            depositSeen(base).idempotencyKey,
          ]);
          return rows.length > 0;
        };
        switch (d.kind) {
          case 'seen':
            await ledger.post(depositSeen(base));
            return;
          case 'confirmed':
            await ledger.post(depositConfirmed({ ...base, wasSeen: await wasSeen() }));
            return;
          case 'unsolicited_confirmed':
            await ledger.post(unsolicitedCredit({ ...base, wasSeen: await wasSeen() }));
            return;
          case 'reorged':
            if (d.wasConfirmed) await ledger.post(depositReorgedAfterCredit(base));
            else if (await wasSeen()) await ledger.post(depositReorgedBeforeCredit(base));
            return;
        }
      });
    },
  });
}
