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

export const migrations: MigrationDef[] = [
  { name: '0001_merchants_and_api_keys', class: Merchants },
  { name: '0002_ledger', class: Ledger },
];
