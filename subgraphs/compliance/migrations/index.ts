import { Migration, type MigrationDef } from '@cpg/core/db';

export const SCHEMA = 'compliance';

class Compliance extends Migration {
  override async up(): Promise<void> {
    const s = `"${SCHEMA}"`;
    // Decisions and the audit trail are append-only: the database refuses updates and deletes.
    this.addSql(`create function ${s}.append_only() returns trigger language plpgsql as $$
      begin raise exception '%.% is append-only', TG_TABLE_SCHEMA, TG_TABLE_NAME; end $$`);
    // Every screening: who or what decided, when, on which inputs, with which result.
    this.addSql(`create table ${s}.assessments (
      id uuid primary key,
      merchant_id uuid,
      subject text not null,
      subject_ref text not null,
      network_id text not null,
      address text,
      direction text not null check (direction in ('IN','OUT','ADDRESS')),
      coin_id text,
      amount numeric(78,0),
      usd_cents bigint,
      score int not null check (score between 0 and 100),
      level text not null check (level in ('LOW','MEDIUM','HIGH','SEVERE')),
      decision text not null check (decision in ('ALLOW','REVIEW','BLOCK')),
      reasons jsonb not null,
      hits jsonb not null,
      inputs jsonb not null,
      decided_by text not null,
      actor text not null,
      screened_at timestamptz not null
    )`);
    this.addSql(`create index assessments_subject on ${s}.assessments (subject_ref, screened_at desc)`);
    this.addSql(`create index assessments_period on ${s}.assessments (screened_at, merchant_id)`);
    this.addSql(`create trigger assessments_append_only before update or delete on ${s}.assessments for each row execute function ${s}.append_only()`);
    // Transfers to our addresses, as screened: velocity, structuring, exposure and the report read them.
    this.addSql(`create table ${s}.transfers (
      network_id text not null,
      tx_hash text not null,
      idx int not null,
      from_address text,
      from_key text,
      to_address text not null,
      merchant_id uuid not null,
      address_id uuid not null,
      coin_id text not null,
      amount numeric(78,0) not null,
      usd_cents bigint,
      assessment_id uuid not null references ${s}.assessments(id),
      seen_at timestamptz not null,
      primary key (network_id, tx_hash, idx)
    )`);
    this.addSql(`create index transfers_sender on ${s}.transfers (network_id, from_key, seen_at desc)`);
    this.addSql(`create index transfers_period on ${s}.transfers (seen_at, merchant_id)`);
    // Addresses we saw receive funds from a BLOCKed address (one hop, transfers to our addresses only).
    this.addSql(`create table ${s}.exposures (
      network_id text not null,
      address_key text not null,
      address text not null,
      source_address text not null,
      tx_hash text not null,
      created_at timestamptz not null,
      primary key (network_id, address_key, tx_hash)
    )`);
    this.addSql(`create table ${s}.grey_list (
      id uuid primary key,
      merchant_id uuid,
      network_id text not null,
      address text not null,
      address_key text not null,
      action text not null check (action in ('BLOCK','REVIEW')),
      reason text not null,
      source text not null,
      created_by text not null,
      created_at timestamptz not null,
      removed_at timestamptz,
      removed_by text
    )`);
    this.addSql(
      `create unique index grey_list_active on ${s}.grey_list (coalesce(merchant_id, '00000000-0000-0000-0000-000000000000'::uuid), network_id, address_key) where removed_at is null`,
    );
    this.addSql(`create index grey_list_lookup on ${s}.grey_list (network_id, address_key) where removed_at is null`);
    this.addSql(`create index grey_list_page on ${s}.grey_list (created_at desc, id desc)`);
    this.addSql(`create table ${s}.alerts (
      id uuid primary key,
      merchant_id uuid not null,
      assessment_id uuid not null unique references ${s}.assessments(id),
      subject text not null,
      subject_ref text not null,
      level text not null,
      decision text not null,
      reasons jsonb not null,
      status text not null check (status in ('OPEN','ALLOWED','BLOCKED')),
      deposit jsonb,
      created_at timestamptz not null,
      resolved_at timestamptz,
      resolved_by text,
      note text
    )`);
    this.addSql(`create index alerts_page on ${s}.alerts (merchant_id, created_at desc, id desc)`);
    this.addSql(`create index alerts_all_page on ${s}.alerts (created_at desc, id desc)`);
    this.addSql(`create table ${s}.alert_actions (
      id uuid primary key,
      alert_id uuid not null references ${s}.alerts(id),
      actor text not null,
      action text not null,
      decision text,
      note text,
      at timestamptz not null
    )`);
    this.addSql(`create trigger alert_actions_append_only before update or delete on ${s}.alert_actions for each row execute function ${s}.append_only()`);
  }
}

// The shared outbox and processed_messages tables are added by startSubgraphService.
export const migrations: MigrationDef[] = [{ name: '0001_compliance', class: Compliance }];
