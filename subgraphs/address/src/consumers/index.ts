import type { EventData, EventType, MerchantSettingsMessage } from '@cpg/core/bus';
import type { EntityManager } from '@cpg/core/db';
import { type ServiceDeps, copyMerchantSettings } from '@cpg/core/http';
import { SCHEMA } from '../../migrations';
import { isAddressMode } from '../domain/modes';
import { reportedAt } from '../domain/status';

const MERCHANT_CONSUMER = 'address-merchant-settings';
const STATUS_CONSUMER = 'address-network-status';
const SWEEP_CONSUMER = 'address-sweeps';
const AWAITING_CONSUMER = 'address-awaiting-collection';

/** A new merchant's address mode, unless a settings event got here first. */
async function insertDefaultMode(tx: EntityManager, merchantId: string, at: Date): Promise<void> {
  await tx.execute(`insert into "${SCHEMA}".merchant_settings (merchant_id, address_mode, updated_at) values (?, 'SINGLE', ?) on conflict do nothing`, [
    merchantId,
    at,
  ]);
}

/** The mode as published at `at`; an event that carries none changes nothing. */
async function upsertMode(tx: EntityManager, merchantId: string, settings: MerchantSettingsMessage, at: Date): Promise<void> {
  const mode = settings.addressMode;
  if (!isAddressMode(mode)) return;
  await tx.execute(
    `insert into "${SCHEMA}".merchant_settings (merchant_id, address_mode, updated_at) values (?, ?, ?)
     on conflict (merchant_id) do update set address_mode = excluded.address_mode, updated_at = excluded.updated_at
     where merchant_settings.updated_at <= excluded.updated_at`,
    [merchantId, mode, at],
  );
}

/**
 * A consumer whose one statement guards itself: it never moves a row back (an older report or an
 * earlier step changes nothing), so a replay or an out-of-order delivery is harmless and no
 * processed-message marker is needed.
 */
async function consumeSelfGuarded<T extends EventType>(
  { bus, orm }: Pick<ServiceDeps, 'bus' | 'orm'>,
  durable: string,
  type: T,
  statement: (data: EventData<T>) => [sql: string, params: unknown[]],
): Promise<void> {
  await bus.consume({
    durable,
    types: [type],
    handler: async (event) => {
      const [sql, params] = statement(event.data);
      await orm.em.fork().execute(sql, params);
    },
  });
}

export async function startConsumers(deps: ServiceDeps): Promise<void> {
  // The address mode is the merchant's; a local copy spares creating an address a call across services.
  await copyMerchantSettings(deps, { durable: MERCHANT_CONSUMER, schema: SCHEMA, insertDefaults: insertDefaultMode, upsert: upsertMode });

  // A status report replaces the previous one.
  await consumeSelfGuarded(deps, STATUS_CONSUMER, 'chain.status', (s) => [
    `insert into "${SCHEMA}".network_status (network_id, available, scanned_height, tip_height, lag_blocks, error, reported_at) values (?, ?, ?, ?, ?, ?, ?)
       on conflict (network_id) do update set available = excluded.available, scanned_height = excluded.scanned_height, tip_height = excluded.tip_height,
         lag_blocks = excluded.lag_blocks, error = excluded.error, reported_at = excluded.reported_at
       where network_status.reported_at <= excluded.reported_at`,
    [s.network, s.available, s.scannedHeight, s.tipHeight, s.lagBlocks, s.error ?? null, reportedAt(s.at)],
  ]);

  // The collector's sweep steps, for `sweeps`. A report only ever moves a step forward (PLANNED ->
  // BROADCAST -> CONFIRMED | FAILED).
  await consumeSelfGuarded(deps, SWEEP_CONSUMER, 'collection.sweep_updated', (s) => [
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
  ]);

  // The collector's list of what waits per merchant and coin replaces the previous one.
  await consumeSelfGuarded(deps, AWAITING_CONSUMER, 'collection.awaiting_updated', (a) => [
    `insert into "${SCHEMA}".awaiting_collection (merchant_id, coin_id, network_id, fee_coin_id, entries, reported_at) values (?, ?, ?, ?, ?::jsonb, ?)
     on conflict (merchant_id, coin_id) do update set network_id = excluded.network_id, fee_coin_id = excluded.fee_coin_id, entries = excluded.entries,
       reported_at = excluded.reported_at
     where awaiting_collection.reported_at <= excluded.reported_at`,
    [a.merchantId, a.coinId, a.networkId, a.feeCoinId, JSON.stringify(a.entries), new Date(a.at)],
  ]);
}
