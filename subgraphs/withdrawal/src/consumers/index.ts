import { type ServiceDeps, copyMerchantSettings } from '@cpg/core/http';
import { type EntityManager, applyOnce } from '@cpg/core/db';
import { type EventData, type MerchantSettingsMessage, PoisonMessageError } from '@cpg/core/bus';
import { SCHEMA } from '../../migrations';
import { splitFee } from '../domain/batching';
import { applyBatchUpdate } from '../domain/status';
import type { CoinCatalogue } from '../services/catalogue';
import { type BatchRow, T, type WithdrawalRow, emitLedger, emitUpdated } from '../services/rows';

const SETTINGS_CONSUMER = 'withdrawal-merchant-settings';
const BATCH_CONSUMER = 'withdrawal-batch-updates';

/** A new merchant's aggregation defaults, unless a settings event got here first. */
async function insertDefaultSettings(tx: EntityManager, merchantId: string, at: Date): Promise<void> {
  await tx.execute(
    `insert into ${T}.merchant_settings (merchant_id, withdrawal_aggregation, batch_max_size, batch_max_wait_seconds, updated_at)
     values (?, 'NONE', 50, 600, ?) on conflict do nothing`,
    [merchantId, at],
  );
}

/** The catalogue's settings schema has checked every field; one the event lacks keeps its value. */
async function upsertSettings(tx: EntityManager, merchantId: string, s: MerchantSettingsMessage, at: Date): Promise<void> {
  const mode = s.withdrawalAggregation ?? null;
  const size = s.batchMaxSize ?? null;
  const wait = s.batchMaxWaitSeconds ?? null;
  await tx.execute(
    `insert into ${T}.merchant_settings (merchant_id, withdrawal_aggregation, batch_max_size, batch_max_wait_seconds, updated_at)
     values (?, coalesce(?, 'NONE'), coalesce(?::int, 50), coalesce(?::int, 600), ?)
     on conflict (merchant_id) do update set
       withdrawal_aggregation = coalesce(?, merchant_settings.withdrawal_aggregation),
       batch_max_size = coalesce(?::int, merchant_settings.batch_max_size),
       batch_max_wait_seconds = coalesce(?::int, merchant_settings.batch_max_wait_seconds),
       updated_at = excluded.updated_at
     where merchant_settings.updated_at <= excluded.updated_at`,
    [merchantId, mode, size, wait, at, mode, size, wait],
  );
}

type BatchUpdate = EventData<'withdrawal.batch.updated'>;

/**
 * The signer's report on a batch, in one transaction under the batch's row lock: the batch and
 * its withdrawals move, each withdrawal's `withdrawal.updated` is written, and on CONFIRMED each
 * one's settle (with its fee share), on FAILED its release (with its fee share when the failed
 * transaction was mined and spent gas), goes to the ledger through the outbox. A report
 * repeated, late or out of order changes nothing (applyBatchUpdate).
 */
export async function applyBatchReport(tx: EntityManager, catalogue: CoinCatalogue, u: BatchUpdate, now = new Date()): Promise<boolean> {
  const [batch] = await tx.execute<BatchRow[]>(`select * from ${T}.batches where id = ? for update`, [u.batchId]);
  if (!batch) throw new PoisonMessageError(`unknown batch ${u.batchId}`);
  if (batch.merchant_id !== u.merchantId) throw new PoisonMessageError(`batch ${u.batchId} belongs to another merchant`);
  const step = applyBatchUpdate(
    { status: batch.status, txHash: batch.tx_hash, waitingReason: batch.waiting_reason },
    { status: u.status, txHash: u.txHash, reason: u.reason },
  );
  if (step.kind === 'ignore') return false;
  const feeCoinId = u.feeCoinId ?? catalogue.coin(batch.coin_id)?.network.nativeCoin.id ?? null;
  // A fee comes with CONFIRMED, and with a FAILED whose transaction was mined but reverted
  // (EVM / Tron): nothing was paid out, but the gas was spent and is charged like a settled fee.
  const fee = step.final !== null && u.fee !== null && BigInt(u.fee) > 0n ? BigInt(u.fee) : null;
  const failure = step.final === 'release' ? (u.reason ?? 'the signer could not send this batch') : null;
  await tx.execute(
    `update ${T}.batches set status = ?, tx_hash = ?, waiting_reason = ?, fee = coalesce(?::numeric, fee), fee_coin_id = coalesce(?, fee_coin_id),
       failure_reason = coalesce(?, failure_reason), updated_at = ? where id = ?`,
    [step.status, step.txHash, step.waitingReason, fee?.toString() ?? null, fee !== null ? feeCoinId : null, failure, now, batch.id],
  );
  const rows = await tx.execute<WithdrawalRow[]>(
    `select * from ${T}.withdrawals where batch_id = ? and status in ('BATCHED', 'SIGNING', 'BROADCAST') order by created_at, id for update`,
    [batch.id],
  );
  const shares = fee !== null ? splitFee(fee, rows.length) : [];
  for (const [i, r] of rows.entries()) {
    const share = shares[i] ?? null;
    await tx.execute(
      `update ${T}.withdrawals set status = ?, tx_hash = ?, waiting_reason = ?, fee = coalesce(?::numeric, fee), fee_coin_id = coalesce(?, fee_coin_id),
         failure_reason = coalesce(?, failure_reason), updated_at = ? where id = ?`,
      [step.status, step.txHash, step.waitingReason, share?.toString() ?? null, share !== null ? feeCoinId : null, failure, now, r.id],
    );
    await emitUpdated(tx, r, step.event, step.status);
    const charge = share !== null && share > 0n && feeCoinId ? { fee: share, feeCoinId } : null;
    if (step.final === 'settle') await emitLedger(tx, r, 'settle', charge);
    if (step.final === 'release') await emitLedger(tx, r, 'release', charge);
  }
  return true;
}

async function startBatchConsumer({ bus, orm, relay }: ServiceDeps, catalogue: CoinCatalogue): Promise<void> {
  await bus.consume({
    durable: BATCH_CONSUMER,
    types: ['withdrawal.batch.updated'],
    handler: async (event) => {
      const applied = await applyOnce(orm.em.fork(), SCHEMA, BATCH_CONSUMER, event.id, async (tx) => {
        await applyBatchReport(tx, catalogue, event.data);
      });
      if (applied) relay.kick();
    },
  });
}

export async function startConsumers(deps: ServiceDeps, catalogue: CoinCatalogue): Promise<void> {
  // Aggregation is the merchant's; a local copy spares a withdrawal request a call across services.
  await copyMerchantSettings(deps, { durable: SETTINGS_CONSUMER, schema: SCHEMA, insertDefaults: insertDefaultSettings, upsert: upsertSettings });
  await startBatchConsumer(deps, catalogue);
}
