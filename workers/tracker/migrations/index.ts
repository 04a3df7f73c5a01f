import { Migration, type MigrationDef } from '@cpg/shared/db';

export const SCHEMA = 'tracker';

class TrackerTables extends Migration {
  override async up(): Promise<void> {
    // The last block the loop committed, per network: a restart resumes right after it.
    this.addSql(`create table "${SCHEMA}".cursors (
      network text primary key,
      height bigint not null,
      hash text,
      updated_at timestamptz not null default now()
    )`);
    // Hashes of recently scanned blocks: the walk-back compares them with the chain to find the
    // common ancestor after a reorg. Pruned below the network's max reorg depth.
    this.addSql(`create table "${SCHEMA}".blocks (
      network text not null,
      height bigint not null,
      hash text not null,
      parent_hash text not null,
      primary key (network, height)
    )`);
    // A copy of the address service's watch list, fed by address.created; seq lets every
    // tracker instance pick up rows another instance's consumer inserted.
    this.addSql(`create table "${SCHEMA}".watched_addresses (
      address_id uuid primary key,
      seq bigserial not null,
      merchant_id uuid not null,
      address text not null,
      type text not null check (type in ('USER','HOT','COLD','TOKENS_COLLECTOR')),
      networks text[] not null,
      created_at timestamptz not null default now()
    )`);
    this.addSql(`create unique index watched_addresses_seq on "${SCHEMA}".watched_addresses (seq)`);
    // Transfers seen in a block and still within reorg reach: confirmed when deep enough,
    // reorged when their block leaves the chain. coin_id is part of the key because an EVM
    // native transfer (index 0) and a token log (log index 0) may share a transaction.
    this.addSql(`create table "${SCHEMA}".block_transfers (
      network text not null,
      tx_hash text not null,
      idx int not null,
      coin_id text not null,
      block_hash text not null,
      block_height bigint not null,
      data jsonb not null,
      confirmed boolean not null default false,
      primary key (network, tx_hash, idx, coin_id, block_hash)
    )`);
    this.addSql(`create index block_transfers_height on "${SCHEMA}".block_transfers (network, block_height)`);
  }
}

export const migrations: MigrationDef[] = [{ name: '0001_tracker', class: TrackerTables }];
