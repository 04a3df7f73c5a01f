import { Migration, type MigrationDef } from '@cpg/shared/db';

export const SCHEMA = 'signer';

class SeedsAndKeys extends Migration {
  override async up(): Promise<void> {
    // Only sealed bytes are stored (see shared/src/keys/envelope.ts); no column ever holds a
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

export const migrations: MigrationDef[] = [{ name: '0001_seeds_and_keys', class: SeedsAndKeys }];
