import { allNetworks } from '@cpg/chains';
import { Migration, type MigrationDef } from '@cpg/core/db';

export const SCHEMA = 'address';

class Addresses extends Migration {
  override async up(): Promise<void> {
    // Local copy of the merchant subgraph's address mode, fed by its events.
    this.addSql(`create table "${SCHEMA}".merchant_settings (
      merchant_id uuid primary key,
      address_mode text not null check (address_mode in ('SINGLE','COMMON','CROSS')),
      updated_at timestamptz not null
    )`);
    this.addSql(`create table "${SCHEMA}".account_xpubs (
      merchant_id uuid not null,
      network_id text not null,
      xpub text not null,
      path text not null,
      created_at timestamptz not null default now(),
      primary key (merchant_id, network_id)
    )`);
    // One row per (merchant, HD account); locked while an index is taken so indexes stay gap-free.
    this.addSql(`create table "${SCHEMA}".derivation_counters (
      merchant_id uuid not null,
      account text not null,
      next_index int not null default 0 check (next_index >= 0),
      primary key (merchant_id, account)
    )`);
    this.addSql(`create table "${SCHEMA}".key_requests (
      id uuid primary key,
      merchant_id uuid not null,
      network_id text not null,
      purpose text not null check (purpose in ('HOT','TOKENS_COLLECTOR')),
      created_at timestamptz not null default now(),
      completed_at timestamptz
    )`);
    // At most one unanswered request per kind of key: a retry reuses it instead of minting another key.
    this.addSql(`create unique index key_requests_pending on "${SCHEMA}".key_requests (merchant_id, network_id, purpose) where completed_at is null`);
    this.addSql(`create table "${SCHEMA}".addresses (
      id uuid primary key,
      merchant_id uuid not null,
      network_id text not null,
      address text not null,
      type text not null check (type in ('USER','HOT','COLD','TOKENS_COLLECTOR')),
      mode text not null check (mode in ('SINGLE','COMMON','CROSS')),
      networks text[] not null,
      coins text[] not null,
      label text,
      account text,
      derivation_index int,
      key_request_id uuid unique references "${SCHEMA}".key_requests(id),
      signer_key_id uuid,
      created_at timestamptz not null,
      unique (merchant_id, network_id, address),
      unique (merchant_id, account, derivation_index),
      check ((type = 'USER') = (derivation_index is not null and account is not null)),
      check ((type in ('HOT','TOKENS_COLLECTOR')) = (key_request_id is not null))
    )`);
    this.addSql(`create index addresses_merchant_page on "${SCHEMA}".addresses (merchant_id, created_at, id)`);
    this.addSql(`create index addresses_page on "${SCHEMA}".addresses (created_at, id)`);
    this.addSql(`create table "${SCHEMA}".network_status (
      network_id text primary key,
      available boolean not null,
      scanned_height bigint,
      tip_height bigint,
      lag_blocks bigint,
      error text,
      reported_at timestamptz not null
    )`);
  }
}

/**
 * Addresses handed to payments over `address.allocate`: one row per request (the payment id), so
 * a retried request gets the same address; and a customer's address per coin, so a returning
 * customer pays to the address they already know.
 */
class PaymentAllocations extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table "${SCHEMA}".payment_allocations (
      request_id text primary key,
      merchant_id uuid not null,
      address_id uuid not null references "${SCHEMA}".addresses(id),
      created_at timestamptz not null default now()
    )`);
    this.addSql(`create table "${SCHEMA}".customer_addresses (
      merchant_id uuid not null,
      customer_id text not null,
      coin_id text not null,
      address_id uuid not null references "${SCHEMA}".addresses(id),
      created_at timestamptz not null default now(),
      primary key (merchant_id, customer_id, coin_id)
    )`);
  }
}

/**
 * Collection: the merchant's policy per coin (the collector keeps a copy, fed by
 * `collection.policy_updated`) and the sweeps the collector reports (`collection.sweep_updated`),
 * one row per plan step; a step's status only moves forward.
 */
class Collection extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table "${SCHEMA}".collection_policies (
      merchant_id uuid not null,
      coin_id text not null,
      network_id text not null,
      collect_threshold numeric(78,0) not null check (collect_threshold > 0),
      hot_target numeric(78,0) not null check (hot_target >= 0),
      cold_wallet_id uuid references "${SCHEMA}".addresses(id),
      max_fee_ratio text not null,
      updated_at timestamptz not null,
      primary key (merchant_id, coin_id)
    )`);
    this.addSql(`create table "${SCHEMA}".sweeps (
      id uuid primary key,
      plan_id uuid not null,
      merchant_id uuid not null,
      network_id text not null,
      coin_id text not null,
      kind text not null check (kind in ('gas_topup','sweep','cold_forward')),
      from_addresses text[] not null,
      to_address text not null,
      amount numeric(78,0) not null check (amount >= 0),
      fee numeric(78,0),
      fee_coin_id text not null,
      tx_hash text,
      status text not null check (status in ('PLANNED','BROADCAST','CONFIRMED','FAILED')),
      created_at timestamptz not null,
      updated_at timestamptz not null default now()
    )`);
    this.addSql(`create index sweeps_merchant_page on "${SCHEMA}".sweeps (merchant_id, created_at, id)`);
  }
}

/** `address.lookup` finds an address by its string, whoever owns it: one index on it. */
class AddressLookup extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create index addresses_by_address on "${SCHEMA}".addresses (address)`);
  }
}

/**
 * One owner per address (issue 15). An address string is a key holder: the same EVM address on two
 * EVM networks (or a CROSS address on all of them) is one holder, so ownership is keyed by the
 * network family and the codec-normalised address. `address_owners` has one row per holder; a
 * trigger claims it on every insert into `addresses` and refuses another merchant's row with a
 * unique violation (concurrent claims wait on the primary key, so one wins). The same merchant may
 * hold the address on several networks of the family.
 *
 * COLD wallets (destinations outside the hot side) carry a status: PENDING_REVIEW (screening said
 * REVIEW: the operator decides), COOLING_OFF (usable from `usable_from`), ACTIVE (the operator
 * approved), REJECTED. Cold wallets registered before this migration were never screened: they wait
 * for the operator (PENDING_REVIEW).
 */
class OneOwnerAndColdWallets extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "${SCHEMA}".addresses add column family text`);
    for (const n of allNetworks()) {
      this.addSql(`update "${SCHEMA}".addresses set family = '${n.family}' where network_id = '${n.id.replace(/'/g, '')}'`);
    }
    // A network no longer configured keeps its own key space.
    this.addSql(`update "${SCHEMA}".addresses set family = 'NETWORK:' || network_id where family is null`);
    this.addSql(`alter table "${SCHEMA}".addresses alter column family set not null`);
    this.addSql(`create table "${SCHEMA}".address_owners (
      family text not null,
      address text not null,
      merchant_id uuid not null,
      created_at timestamptz not null default now(),
      primary key (family, address)
    )`);
    // Rows from before: the first registration keeps the address.
    this.addSql(`insert into "${SCHEMA}".address_owners (family, address, merchant_id, created_at)
      select distinct on (family, address) family, address, merchant_id, created_at from "${SCHEMA}".addresses order by family, address, created_at, id`);
    this.addSql(`create function "${SCHEMA}".claim_address_owner() returns trigger language plpgsql as $fn$
      declare owner uuid;
      begin
        insert into "${SCHEMA}".address_owners (family, address, merchant_id) values (new.family, new.address, new.merchant_id)
          on conflict (family, address) do nothing;
        select o.merchant_id into owner from "${SCHEMA}".address_owners o where o.family = new.family and o.address = new.address;
        if owner is distinct from new.merchant_id then
          raise exception 'address already has an owner' using errcode = 'unique_violation', constraint = 'address_owners_pkey';
        end if;
        return new;
      end $fn$`);
    this.addSql(`create trigger addresses_one_owner before insert or update of family, address, merchant_id on "${SCHEMA}".addresses
      for each row execute function "${SCHEMA}".claim_address_owner()`);
    this.addSql(`alter table "${SCHEMA}".addresses add column cold_status text check (cold_status in ('PENDING_REVIEW','COOLING_OFF','ACTIVE','REJECTED'))`);
    this.addSql(`alter table "${SCHEMA}".addresses add column usable_from timestamptz`);
    this.addSql(`alter table "${SCHEMA}".addresses add column cold_reasons text[]`);
    this.addSql(`alter table "${SCHEMA}".addresses add column cold_decided_at timestamptz`);
    this.addSql(`update "${SCHEMA}".addresses set cold_status = 'PENDING_REVIEW' where type = 'COLD'`);
    this.addSql(`alter table "${SCHEMA}".addresses add constraint addresses_cold_status check ((type = 'COLD') = (cold_status is not null))`);
  }
}

/**
 * What the collector leaves at USER addresses for now and why (collection.awaiting_updated): the
 * collector's whole list per merchant and coin, newest report wins. Served as `awaitingCollection`.
 */
class AwaitingCollection extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table "${SCHEMA}".awaiting_collection (
      merchant_id uuid not null,
      coin_id text not null,
      network_id text not null,
      fee_coin_id text not null,
      entries jsonb not null,
      reported_at timestamptz not null,
      primary key (merchant_id, coin_id)
    )`);
  }
}

export const migrations: MigrationDef[] = [
  { name: '0001_addresses', class: Addresses },
  { name: '0002_payment_allocations', class: PaymentAllocations },
  { name: '0003_collection', class: Collection },
  { name: '0004_address_lookup', class: AddressLookup },
  { name: '0005_one_owner_cold_wallets', class: OneOwnerAndColdWallets },
  { name: '0006_awaiting_collection', class: AwaitingCollection },
];
