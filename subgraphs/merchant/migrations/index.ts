import { Migration, type MigrationDef } from '@cpg/shared/db';

export const SCHEMA = 'merchant';

class Merchants extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table "${SCHEMA}".merchants (
      id uuid primary key,
      name text not null check (length(name) between 1 and 200),
      address_mode text not null default 'SINGLE' check (address_mode in ('SINGLE','COMMON','CROSS')),
      withdrawal_aggregation text not null default 'NONE' check (withdrawal_aggregation in ('NONE','BATCH')),
      batch_max_size int not null default 50 check (batch_max_size between 1 and 1000),
      batch_max_wait_seconds int not null default 600 check (batch_max_wait_seconds between 0 and 86400),
      payment_expiry_minutes int not null default 60 check (payment_expiry_minutes between 1 and 10080),
      underpayment_tolerance text not null default '0',
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    )`);
    this.addSql(`create table "${SCHEMA}".api_keys (
      id uuid primary key,
      merchant_id uuid not null references "${SCHEMA}".merchants(id),
      label text not null,
      prefix text not null unique,
      secret_hash text not null,
      scopes text[] not null,
      created_at timestamptz not null default now(),
      last_used_at timestamptz,
      revoked_at timestamptz
    )`);
    this.addSql(`create index api_keys_merchant on "${SCHEMA}".api_keys (merchant_id, created_at)`);
  }
}

export const migrations: MigrationDef[] = [{ name: '0001_merchants_and_api_keys', class: Merchants }];
