import { Migration, type MigrationDef } from '@cpg/core/db';

export const SCHEMA = 'withdrawal';

class Withdrawals extends Migration {
  override async up(): Promise<void> {
    const s = `"${SCHEMA}"`;
    // Local copy of the merchant subgraph's aggregation settings, fed by its events.
    this.addSql(`create table ${s}.merchant_settings (
      merchant_id uuid primary key,
      withdrawal_aggregation text not null check (withdrawal_aggregation in ('NONE','BATCH')),
      batch_max_size int not null,
      batch_max_wait_seconds int not null,
      updated_at timestamptz not null
    )`);
    this.addSql(`create table ${s}.withdrawal_limits (
      merchant_id uuid not null,
      coin_id text not null,
      min_amount numeric(78,0) not null check (min_amount >= 0),
      max_amount numeric(78,0) not null check (max_amount >= min_amount),
      daily_amount numeric(78,0) not null check (daily_amount >= 0),
      approval_above numeric(78,0) check (approval_above >= 0),
      updated_at timestamptz not null,
      primary key (merchant_id, coin_id)
    )`);
    this.addSql(`create table ${s}.batches (
      id uuid primary key,
      merchant_id uuid not null,
      network_id text not null,
      coin_id text not null,
      status text not null check (status in ('BATCHED','SIGNING','BROADCAST','CONFIRMED','FAILED')),
      tx_hash text,
      fee numeric(78,0),
      fee_coin_id text,
      waiting_reason text,
      failure_reason text,
      created_at timestamptz not null,
      updated_at timestamptz not null
    )`);
    // PROVISIONAL: stored before the hold is asked for, never shown; it becomes a real status
    // once the hold answered, or is deleted (with a release) when it did not.
    this.addSql(`create table ${s}.withdrawals (
      id uuid primary key,
      merchant_id uuid not null,
      coin_id text not null,
      network_id text not null,
      to_address text not null,
      amount numeric(78,0) not null check (amount > 0),
      idempotency_key text not null,
      fingerprint text not null,
      status text not null check (status in ('PROVISIONAL','PENDING_APPROVAL','QUEUED','BATCHED','SIGNING','BROADCAST','CONFIRMED','FAILED','REJECTED','CANCELLED')),
      held boolean not null default false,
      batch_id uuid references ${s}.batches(id),
      tx_hash text,
      fee numeric(78,0),
      fee_coin_id text,
      failure_reason text,
      waiting_reason text,
      assessment_id text,
      payment_id uuid,
      queued_at timestamptz,
      created_at timestamptz not null,
      updated_at timestamptz not null,
      unique (merchant_id, idempotency_key)
    )`);
    this.addSql(`create index withdrawals_page on ${s}.withdrawals (merchant_id, created_at desc, id desc)`);
    this.addSql(`create index withdrawals_all_page on ${s}.withdrawals (created_at desc, id desc)`);
    this.addSql(`create index withdrawals_queued on ${s}.withdrawals (merchant_id, coin_id, queued_at) where status = 'QUEUED'`);
    this.addSql(`create index withdrawals_batch on ${s}.withdrawals (batch_id)`);
    this.addSql(`create index withdrawals_daily on ${s}.withdrawals (merchant_id, coin_id, created_at)`);
  }
}

export const migrations: MigrationDef[] = [{ name: '0001_withdrawals', class: Withdrawals }];
