import type { ServiceDeps } from '@cpg/core/http';
import { applyOnce } from '@cpg/core/db';
import { SCHEMA } from '../../migrations';
import { isAddressMode } from '../domain/modes';
import { reportedAt } from '../domain/status';

const MERCHANT_CONSUMER = 'address-merchant-settings';
const STATUS_CONSUMER = 'address-network-status';
const SWEEP_CONSUMER = 'address-sweeps';
const AWAITING_CONSUMER = 'address-awaiting-collection';

/**
 * The address mode belongs to the merchant subgraph; this keeps a local copy so creating an
 * address needs no call across services. Each event applies once; an older event never
 * overwrites a newer one (replays after a reset arrive in order anyway).
 */
export async function startConsumers({ bus, orm }: ServiceDeps): Promise<void> {
  await bus.consume({
    durable: MERCHANT_CONSUMER,
    types: ['merchant.created', 'merchant.settings_updated'],
    handler: async (event) => {
      const at = new Date(event.occurredAt);
      await applyOnce(orm.em.fork(), SCHEMA, MERCHANT_CONSUMER, event.id, async (tx) => {
        if (event.type === 'merchant.created') {
          await tx.execute(`insert into "${SCHEMA}".merchant_settings (merchant_id, address_mode, updated_at) values (?, 'SINGLE', ?) on conflict do nothing`, [
            event.data.merchantId,
            at,
          ]);
          return;
        }
        const mode = (event.data as { settings: Record<string, unknown> }).settings.addressMode;
        if (!isAddressMode(mode)) return;
        await tx.execute(
          `insert into "${SCHEMA}".merchant_settings (merchant_id, address_mode, updated_at) values (?, ?, ?)
           on conflict (merchant_id) do update set address_mode = excluded.address_mode, updated_at = excluded.updated_at
           where merchant_settings.updated_at <= excluded.updated_at`,
          [event.data.merchantId, mode, at],
        );
      });
    },
  });

  // A status report replaces the previous one; replaying an old report changes nothing, so no
  // processed-message marker is needed.
  await bus.consume({
    durable: STATUS_CONSUMER,
    types: ['chain.status'],
    handler: async (event) => {
      const s = event.data;
      await orm.em.fork().execute(
        `insert into "${SCHEMA}".network_status (network_id, available, scanned_height, tip_height, lag_blocks, error, reported_at) values (?, ?, ?, ?, ?, ?, ?)
           on conflict (network_id) do update set available = excluded.available, scanned_height = excluded.scanned_height, tip_height = excluded.tip_height,
             lag_blocks = excluded.lag_blocks, error = excluded.error, reported_at = excluded.reported_at
           where network_status.reported_at <= excluded.reported_at`,
        [s.network, s.available, s.scannedHeight, s.tipHeight, s.lagBlocks, s.error ?? null, reportedAt(s.at)],
      );
    },
  });

  // The collector's sweep steps, for `sweeps`. A report only ever moves a step forward (PLANNED ->
  // BROADCAST -> CONFIRMED | FAILED), so a replay or an out-of-order delivery changes nothing and
  // no processed-message marker is needed.
  await bus.consume({
    durable: SWEEP_CONSUMER,
    types: ['collection.sweep_updated'],
    handler: async (event) => {
      const s = event.data;
      await orm.em.fork().execute(
        `insert into "${SCHEMA}".sweeps (id, plan_id, merchant_id, network_id, coin_id, kind, from_addresses, to_address, amount, fee, fee_coin_id, tx_hash, status, created_at)
           values (?, ?, ?, ?, ?, ?, array(select jsonb_array_elements_text(?::jsonb)), ?, ?, ?, ?, ?, ?, ?)
         on conflict (id) do update set status = excluded.status, tx_hash = coalesce(excluded.tx_hash, sweeps.tx_hash),
           fee = coalesce(excluded.fee, sweeps.fee), amount = excluded.amount, updated_at = now()
         where (case sweeps.status when 'PLANNED' then 0 when 'BROADCAST' then 1 else 2 end)
             < (case excluded.status when 'PLANNED' then 0 when 'BROADCAST' then 1 else 2 end)`,
        [
          s.sweepId,
          s.planId,
          s.merchantId,
          s.network,
          s.coinId,
          s.kind,
          JSON.stringify(s.fromAddresses),
          s.toAddress,
          s.amount,
          s.fee,
          s.feeCoinId,
          s.txHash,
          s.status,
          new Date(s.createdAt),
        ],
      );
    },
  });

  // The collector's list of what waits per merchant and coin replaces the previous one; an older
  // report (a replay, a slower instance) never overwrites a newer one.
  await bus.consume({
    durable: AWAITING_CONSUMER,
    types: ['collection.awaiting_updated'],
    handler: async (event) => {
      const a = event.data;
      await orm.em.fork().execute(
        `insert into "${SCHEMA}".awaiting_collection (merchant_id, coin_id, network_id, fee_coin_id, entries, reported_at) values (?, ?, ?, ?, ?::jsonb, ?)
         on conflict (merchant_id, coin_id) do update set network_id = excluded.network_id, fee_coin_id = excluded.fee_coin_id, entries = excluded.entries,
           reported_at = excluded.reported_at
         where awaiting_collection.reported_at <= excluded.reported_at`,
        [a.merchantId, a.coinId, a.networkId, a.feeCoinId, JSON.stringify(a.entries), new Date(a.at)],
      );
    },
  });
}
