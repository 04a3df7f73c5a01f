import { Migration, type MigrationDef } from '@cpg/core/db';
import { ACCOUNT_KINDS } from '../src/ledger/postings';

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

/**
 * The double-entry ledger. Balances live on the account rows (locked while a posting changes
 * them); entries are append-only, and a deferred constraint trigger refuses at commit any
 * transaction whose entries do not sum to zero per coin, so not even a bug in the service or a
 * hand-written SQL session can commit unbalanced books.
 */
class Ledger extends Migration {
  override async up(): Promise<void> {
    const s = `"${SCHEMA}"`;
    this.addSql(`create table ${s}.ledger_accounts (
      id bigserial primary key,
      merchant_id uuid references ${s}.merchants(id),
      coin_id text not null check (length(coin_id) between 1 and 100),
      kind text not null check (kind in ('pending','available','held','debt','external_chain','external_fees')),
      balance numeric(78,0) not null default 0,
      allow_negative boolean not null,
      created_at timestamptz not null default now(),
      constraint ledger_accounts_floor check (allow_negative or balance >= 0),
      constraint ledger_accounts_debt_sign check (kind <> 'debt' or balance <= 0),
      constraint ledger_accounts_one_per_kind unique nulls not distinct (merchant_id, coin_id, kind)
    )`);
    this.addSql(`create table ${s}.ledger_transactions (
      id bigserial primary key,
      idempotency_key text not null,
      fingerprint text not null,
      kind text not null,
      reference text not null,
      created_at timestamptz not null default now(),
      constraint ledger_transactions_key unique (idempotency_key)
    )`);
    this.addSql(`create index ledger_transactions_reference on ${s}.ledger_transactions (reference)`);
    this.addSql(`create table ${s}.ledger_entries (
      id bigserial primary key,
      transaction_id bigint not null references ${s}.ledger_transactions(id),
      account_id bigint not null references ${s}.ledger_accounts(id),
      amount numeric(78,0) not null check (amount <> 0),
      balance_after numeric(78,0) not null,
      created_at timestamptz not null default now()
    )`);
    this.addSql(`create index ledger_entries_account on ${s}.ledger_entries (account_id, id)`);
    this.addSql(`create index ledger_entries_transaction on ${s}.ledger_entries (transaction_id)`);
    this.addSql(`create function ${s}.ledger_check_balanced() returns trigger language plpgsql as $$
      declare
        bad record;
      begin
        select a.coin_id, sum(e.amount) as total into bad
          from ${s}.ledger_entries e join ${s}.ledger_accounts a on a.id = e.account_id
         where e.transaction_id = new.transaction_id
         group by a.coin_id
        having sum(e.amount) <> 0
         limit 1;
        if found then
          raise exception 'ledger transaction % does not balance for coin %: entries sum to %', new.transaction_id, bad.coin_id, bad.total
            using errcode = 'check_violation';
        end if;
        return null;
      end
    $$`);
    this.addSql(`create constraint trigger ledger_entries_balanced after insert on ${s}.ledger_entries
      deferrable initially deferred for each row execute function ${s}.ledger_check_balanced()`);
    this.addSql(`create function ${s}.ledger_append_only() returns trigger language plpgsql as $$
      begin
        raise exception 'ledger % rows are append-only: post a reversal instead', tg_table_name using errcode = 'restrict_violation';
      end
    $$`);
    this.addSql(`create trigger ledger_entries_append_only before update or delete on ${s}.ledger_entries
      for each row execute function ${s}.ledger_append_only()`);
    this.addSql(`create trigger ledger_transactions_append_only before update or delete on ${s}.ledger_transactions
      for each row execute function ${s}.ledger_append_only()`);
  }
}

/**
 * Webhook endpoints, one delivery row per (event, endpoint) and one attempt row per HTTP try.
 * Delivery rows are the dispatcher's queue: `next_attempt_at` says when, `lease_until` marks a row
 * a dispatcher is sending right now, so a crashed sender's rows come back once the lease lapses.
 */
class Webhooks extends Migration {
  override async up(): Promise<void> {
    const s = `"${SCHEMA}"`;
    this.addSql(`create table ${s}.webhook_endpoints (
      id uuid primary key,
      merchant_id uuid not null references ${s}.merchants(id),
      url text not null check (length(url) between 1 and 2000),
      events text[],
      secret_sealed text not null,
      previous_secret_sealed text,
      previous_secret_expires_at timestamptz,
      enabled boolean not null default true,
      disabled_reason text,
      failing_since timestamptz,
      created_at timestamptz not null default now(),
      deleted_at timestamptz
    )`);
    this.addSql(`create index webhook_endpoints_merchant on ${s}.webhook_endpoints (merchant_id, created_at) where deleted_at is null`);
    this.addSql(`create table ${s}.webhook_deliveries (
      id uuid primary key,
      endpoint_id uuid not null references ${s}.webhook_endpoints(id),
      merchant_id uuid not null,
      event_id uuid not null,
      event_type text not null,
      source_message_id text,
      redelivery_of uuid references ${s}.webhook_deliveries(id),
      body text not null,
      status text not null default 'PENDING' check (status in ('PENDING','RETRYING','DELIVERED','DEAD')),
      attempts int not null default 0,
      last_status_code int,
      last_error text,
      next_attempt_at timestamptz,
      lease_until timestamptz,
      lease_token uuid,
      created_at timestamptz not null default now(),
      delivered_at timestamptz,
      seq bigserial not null,
      constraint webhook_deliveries_once unique (source_message_id, endpoint_id)
    )`);
    this.addSql(`create index webhook_deliveries_due on ${s}.webhook_deliveries (next_attempt_at) where status in ('PENDING','RETRYING')`);
    this.addSql(`create index webhook_deliveries_endpoint on ${s}.webhook_deliveries (endpoint_id, seq)`);
    this.addSql(`create table ${s}.webhook_attempts (
      id bigserial primary key,
      delivery_id uuid not null references ${s}.webhook_deliveries(id),
      attempt int not null,
      started_at timestamptz not null,
      status_code int,
      latency_ms int not null,
      response_excerpt text,
      error text
    )`);
    this.addSql(`create index webhook_attempts_delivery on ${s}.webhook_attempts (delivery_id, id)`);
  }
}

/**
 * Keys are verified with a proof the gateway derives from the key instead of the key itself
 * (shared/graphql/api-key-proof), so a row keeps sha256(proof) where it kept sha256(key). The
 * proof is a tagged hash of sha256(key), so existing rows convert here without their keys; then
 * sha256(key) goes, because whoever holds it could compute proofs. The tag is written out, not
 * imported: a migration must mean the same thing forever.
 */
class ApiKeyProofs extends Migration {
  override async up(): Promise<void> {
    const t = `"${SCHEMA}".api_keys`;
    this.addSql(`alter table ${t} add column proof_hash text`);
    this.addSql(`update ${t} set proof_hash = encode(sha256(sha256(convert_to('cpg-api-key-proof-v1:', 'UTF8') || decode(secret_hash, 'hex'))), 'hex')`);
    this.addSql(`alter table ${t} alter column proof_hash set not null`);
    this.addSql(`alter table ${t} drop column secret_hash`);
  }
}

/**
 * The `custody` account: what confirmed cold forwards moved out of the hot side (issue 15). The
 * kinds allowed come from ACCOUNT_KINDS, so the check always matches the code's list.
 */
class CustodyAccount extends Migration {
  override async up(): Promise<void> {
    const s = `"${SCHEMA}"`;
    this.addSql(`alter table ${s}.ledger_accounts drop constraint if exists ledger_accounts_kind_check`);
    this.addSql(`alter table ${s}.ledger_accounts add constraint ledger_accounts_kind_check check (kind in (${ACCOUNT_KINDS.map((k) => `'${k}'`).join(',')}))`);
  }
}

export const migrations: MigrationDef[] = [
  { name: '0001_merchants_and_api_keys', class: Merchants },
  { name: '0002_ledger', class: Ledger },
  { name: '0003_webhooks', class: Webhooks },
  { name: '0004_api_key_proofs', class: ApiKeyProofs },
  { name: '0005_custody_account', class: CustodyAccount },
];
