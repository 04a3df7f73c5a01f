import { Migration, type MigrationDef } from '@cpg/core/db';

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

class LateAddressRescans extends Migration {
  override async up(): Promise<void> {
    // When each block was committed: an address learned late is looked for in the blocks scanned
    // since it was created. Blocks are kept for an hour at least (not just the reorg depth), so a
    // rescan finds them even after a fast catch-up.
    this.addSql(`alter table "${SCHEMA}".blocks add column scanned_at timestamptz not null default now()`);
    this.addSql(`create index blocks_scanned_at on "${SCHEMA}".blocks (network, scanned_at)`);
    // Addresses the scanner of a network has not yet looked for in the blocks it committed before
    // it knew them. Written with the watched_addresses row, deleted in the rescan's transaction,
    // so a crash in between leaves the rescan to do, never done twice with effects.
    this.addSql(`create table "${SCHEMA}".pending_rescans (
      network text not null,
      address_id uuid not null,
      merchant_id uuid not null,
      address text not null,
      type text not null,
      address_created_at timestamptz not null,
      primary key (network, address_id)
    )`);
  }
}

class MempoolTransfers extends Migration {
  override async up(): Promise<void> {
    // Mempool transfers reported seen and not yet in a scanned block: kept here, not only in
    // memory, so one dropped while the tracker is down is still reported reorged after restart.
    this.addSql(`create table "${SCHEMA}".mempool_transfers (
      network text not null,
      tx_hash text not null,
      idx int not null,
      coin_id text not null,
      data jsonb not null,
      seen_at timestamptz not null default now(),
      primary key (network, tx_hash, idx, coin_id)
    )`);
  }
}

export const migrations: MigrationDef[] = [
  { name: '0001_tracker', class: TrackerTables },
  { name: '0002_late_address_rescans', class: LateAddressRescans },
  { name: '0003_mempool_transfers', class: MempoolTransfers },
];
