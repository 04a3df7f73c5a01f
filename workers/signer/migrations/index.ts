import { Migration, type MigrationDef } from '@cpg/core/db';

export const SCHEMA = 'signer';

class SeedsAndKeys extends Migration {
  override async up(): Promise<void> {
    // Only sealed bytes are stored (see shared/chains/src/keys/envelope.ts); no column ever holds a
    // plaintext seed or key, so a database dump alone reveals nothing spendable.
    this.addSql(`create table "${SCHEMA}".merchant_seeds (
      merchant_id uuid primary key,
      sealed bytea not null,
      created_at timestamptz not null default now()
    )`);
    this.addSql(`create table "${SCHEMA}".keys (
      id uuid primary key,
      merchant_id uuid not null,
      network_id text not null,
      purpose text not null check (purpose in ('HOT','TOKENS_COLLECTOR')),
      address text not null,
      sealed bytea not null,
      request_id text not null unique,
      created_at timestamptz not null default now()
    )`);
    this.addSql(`create index keys_merchant on "${SCHEMA}".keys (merchant_id, network_id, purpose)`);
  }
}

class Withdrawals extends Migration {
  override async up(): Promise<void> {
    // One HOT wallet per merchant and network: its key lives in keys (purpose HOT); only the
    // address is ever shown outside the signer. The row is also the wallet's lock (one owner of
    // its nonce / coins at a time: select ... for update).
    this.addSql(`create table "${SCHEMA}".hot_wallets (
      merchant_id uuid not null,
      network_id text not null,
      key_id uuid not null,
      address text not null,
      created_at timestamptz not null default now(),
      primary key (merchant_id, network_id)
    )`);
    // A withdrawal.batch.ready as received (idempotent per batch id) and the signer's progress.
    this.addSql(`create table "${SCHEMA}".withdrawal_batches (
      batch_id uuid primary key,
      merchant_id uuid not null,
      network_id text not null,
      coin_id text not null,
      items jsonb not null,
      total numeric(78,0) not null,
      status text not null check (status in ('NEW','WAITING_FUNDS','SIGNED','BROADCAST','CONFIRMED','FAILED')),
      reason text,
      tx_hash text,
      fee numeric(78,0),
      confirmations int not null default 0,
      next_check_at timestamptz not null default now(),
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    )`);
    this.addSql(`create index withdrawal_batches_due on "${SCHEMA}".withdrawal_batches (next_check_at) where status not in ('CONFIRMED','FAILED')`);
    // Every transaction the signer signed, stored before it is broadcast: a restart re-broadcasts
    // these exact bytes. A fee bump is a new row (seq + 1) spending the same nonce / inputs.
    // kind APPROVAL: the one-time ERC-20 approve of the batch contract (batch_id: the batch that needed it).
    this.addSql(`create table "${SCHEMA}".withdrawal_txs (
      id uuid primary key,
      batch_id uuid not null references "${SCHEMA}".withdrawal_batches (batch_id),
      kind text not null check (kind in ('PAYOUT','APPROVAL')),
      seq int not null,
      network_id text not null,
      from_address text not null,
      nonce bigint,
      tx_hash text not null,
      raw text not null,
      fee numeric(78,0) not null,
      fee_detail jsonb not null default '{}',
      fee_paid numeric(78,0),
      status text not null check (status in ('SIGNED','BROADCAST','REPLACED','CONFIRMED','REJECTED','DROPPED')),
      broadcast_at timestamptz,
      block_height bigint,
      created_at timestamptz not null default now(),
      unique (batch_id, kind, seq),
      unique (network_id, tx_hash)
    )`);
    this.addSql(`create index withdrawal_txs_from on "${SCHEMA}".withdrawal_txs (network_id, from_address)`);
    // Contracts the signer relies on per network (BatchTransfer), deployed by it on dev chains.
    this.addSql(`create table "${SCHEMA}".evm_contracts (
      network_id text not null,
      kind text not null,
      address text not null,
      tx_hash text,
      created_at timestamptz not null default now(),
      primary key (network_id, kind)
    )`);
  }
}

export const migrations: MigrationDef[] = [
  { name: '0001_seeds_and_keys', class: SeedsAndKeys },
  { name: '0002_withdrawals', class: Withdrawals },
];
