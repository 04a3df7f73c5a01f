import { Migration, type MigrationDef } from '@cpg/core/db';

export const SCHEMA = 'collector';

class CollectorTables extends Migration {
  override async up(): Promise<void> {
    // Local copy of the merchants' collection policies (collection.policy_updated); coins without
    // a row are collected with the defaults (src/domain/policy.ts).
    this.addSql(`create table "${SCHEMA}".policies (
      merchant_id uuid not null,
      coin_id text not null,
      network_id text not null,
      collect_threshold numeric(78,0) not null,
      hot_target numeric(78,0) not null,
      cold_wallet_id uuid,
      cold_wallet_address text,
      max_fee_ratio text not null,
      updated_at timestamptz not null,
      primary key (merchant_id, coin_id)
    )`);
    // Local copy of the merchants' addresses (address.created); the account index or signer key
    // id is learned from the address subgraph (address.describe) when first needed.
    this.addSql(`create table "${SCHEMA}".addresses (
      address_id uuid primary key,
      merchant_id uuid not null,
      address text not null,
      type text not null check (type in ('USER','HOT','COLD','TOKENS_COLLECTOR')),
      networks text[] not null,
      coins text[] not null,
      derivation_index int,
      signer_key_id uuid,
      described boolean not null default false,
      created_at timestamptz not null default now()
    )`);
    this.addSql(`create index addresses_merchant on "${SCHEMA}".addresses (merchant_id)`);
    // (merchant, network, coin) that saw a confirmed deposit since the last plan: planned first.
    this.addSql(`create table "${SCHEMA}".dirty (
      merchant_id uuid not null,
      network_id text not null,
      coin_id text not null,
      since timestamptz not null default now(),
      primary key (merchant_id, network_id, coin_id)
    )`);
    // A plan per (merchant, coin); at most one open at a time, so a plan never races another for
    // the same balances.
    this.addSql(`create table "${SCHEMA}".plans (
      id uuid primary key,
      merchant_id uuid not null,
      network_id text not null,
      coin_id text not null,
      status text not null check (status in ('OPEN','DONE','FAILED')),
      summary jsonb not null,
      created_at timestamptz not null default now(),
      finished_at timestamptz
    )`);
    this.addSql(`create unique index plans_one_open on "${SCHEMA}".plans (merchant_id, coin_id) where status = 'OPEN'`);
    // Each step is an internal transfer (gas_topup, sweep, cold_forward). The signed transaction
    // is stored before it is broadcast: after a crash the step is looked up on chain by its hash
    // and re-broadcast as is, never signed twice once signed.
    this.addSql(`create table "${SCHEMA}".steps (
      id uuid primary key,
      plan_id uuid not null references "${SCHEMA}".plans(id),
      seq int not null,
      kind text not null check (kind in ('gas_topup','sweep','cold_forward')),
      action text not null,
      coin_id text not null,
      from_role text not null,
      from_wallets jsonb not null,
      inputs jsonb,
      to_address text not null,
      to_role text not null,
      amount numeric(78,0) not null,
      sweep_all boolean not null,
      fee_estimate numeric(78,0) not null,
      after_steps uuid[] not null,
      status text not null check (status in ('PLANNED','SIGNED','BROADCAST','CONFIRMED','FAILED','SKIPPED')),
      raw_tx text,
      tx_hash text,
      fee numeric(78,0),
      attempts int not null default 0,
      error text,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      unique (plan_id, seq)
    )`);
  }
}

/**
 * Compliance holds per deposit (compliance.deposit_hold): an address with an active HOLD or BLOCK
 * for a coin is never swept into HOT. RELEASE ends it; a status never moves back.
 */
class Holds extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table "${SCHEMA}".holds (
      deposit_key text primary key,
      merchant_id uuid not null,
      address_id uuid not null,
      coin_id text not null,
      amount numeric(78,0) not null,
      state text not null check (state in ('HOLD','BLOCK','RELEASE')),
      updated_at timestamptz not null default now()
    )`);
    this.addSql(`create index holds_address on "${SCHEMA}".holds (address_id, coin_id) where state <> 'RELEASE'`);
  }
}

/**
 * The status of the merchants' COLD wallets (address.cold_wallet_updated): a cold forward is
 * planned only to a wallet that is ACTIVE, or COOLING_OFF with its `usable_from` passed.
 */
class ColdWallets extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table "${SCHEMA}".cold_wallets (
      address_id uuid primary key,
      merchant_id uuid not null,
      network_id text not null,
      address text not null,
      status text not null check (status in ('PENDING_REVIEW','COOLING_OFF','ACTIVE','REJECTED')),
      usable_from timestamptz,
      updated_at timestamptz not null
    )`);
  }
}

/**
 * What the collector last published as waiting per merchant and coin (collection.awaiting_updated):
 * compared with each new list so the event and the log line go out when something changed, not
 * on every pass.
 */
class Awaiting extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table "${SCHEMA}".awaiting (
      merchant_id uuid not null,
      coin_id text not null,
      network_id text not null,
      entries jsonb not null,
      updated_at timestamptz not null default now(),
      primary key (merchant_id, coin_id)
    )`);
  }
}

export const migrations: MigrationDef[] = [
  { name: '0001_collector', class: CollectorTables },
  { name: '0002_holds', class: Holds },
  { name: '0003_cold_wallets', class: ColdWallets },
  { name: '0004_awaiting', class: Awaiting },
];
