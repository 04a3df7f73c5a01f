import { Migration, type MigrationDef } from '@cpg/core/db';

export const SCHEMA = 'payment';

class Payments extends Migration {
  override async up(): Promise<void> {
    const s = `"${SCHEMA}"`;
    // Local copy of the merchant subgraph's payment settings, fed by its events.
    this.addSql(`create table ${s}.merchant_settings (
      merchant_id uuid primary key,
      payment_expiry_minutes int not null,
      underpayment_tolerance text not null,
      updated_at timestamptz not null
    )`);
    this.addSql(`create table ${s}.payments (
      id uuid primary key,
      merchant_id uuid not null,
      order_id text,
      fingerprint text not null,
      description text,
      coin_id text not null,
      network_id text not null,
      address_id uuid not null,
      address text not null,
      customer_id text,
      amount numeric(78,0) check (amount > 0),
      price_amount text,
      price_currency text,
      rate text,
      tolerance text not null,
      amount_received numeric(78,0) not null default 0,
      amount_confirmed numeric(78,0) not null default 0,
      amount_due numeric(78,0),
      status text not null check (status in ('PENDING','PARTIALLY_PAID','CONFIRMING','PAID','OVERPAID','EXPIRED','ON_HOLD','CANCELLED')),
      paid_late boolean not null default false,
      cancelled boolean not null default false,
      on_hold boolean not null default false,
      token_salt text not null,
      checkout_token_hash text not null unique,
      metadata jsonb,
      expires_at timestamptz not null,
      created_at timestamptz not null,
      updated_at timestamptz not null,
      unique (merchant_id, order_id)
    )`);
    this.addSql(`create index payments_merchant_page on ${s}.payments (merchant_id, created_at desc, id desc)`);
    this.addSql(`create index payments_page on ${s}.payments (created_at desc, id desc)`);
    this.addSql(`create index payments_address on ${s}.payments (address_id, created_at desc)`);
    this.addSql(`create index payments_expiring on ${s}.payments (expires_at) where status in ('PENDING','PARTIALLY_PAID')`);
    // payment_id is null for unsolicited transfers: recorded and credited, matched to nothing.
    this.addSql(`create table ${s}.deposits (
      id uuid primary key,
      payment_id uuid references ${s}.payments(id),
      merchant_id uuid not null,
      address_id uuid not null,
      network_id text not null,
      tx_hash text not null,
      idx int not null check (idx >= 0),
      from_address text,
      coin_id text not null,
      amount numeric(78,0) not null check (amount >= 0),
      confirmations int not null default 0,
      block_number bigint,
      block_hash text,
      status text not null check (status in ('SEEN','CONFIRMED','REORGED','HELD')),
      generation int not null default 0,
      below_minimum boolean not null,
      detected_at timestamptz not null,
      confirmed_at timestamptz,
      updated_at timestamptz not null,
      unique (network_id, tx_hash, idx)
    )`);
    this.addSql(`create index deposits_payment on ${s}.deposits (payment_id, detected_at)`);
  }
}

/**
 * Compliance holds per deposit, one row per (alert, action) received from the compliance subgraph:
 * a payment is ON_HOLD while one of its deposits has a HOLD or BLOCK without a RELEASE. Rows per
 * action, not a state column, so actions arriving out of order still give the same answer.
 */
class ComplianceHolds extends Migration {
  override async up(): Promise<void> {
    const s = `"${SCHEMA}"`;
    this.addSql(`create table ${s}.compliance_holds (
      alert_id uuid not null,
      action text not null check (action in ('HOLD','RELEASE','BLOCK')),
      payment_id uuid references ${s}.payments(id),
      network_id text not null,
      tx_hash text not null,
      idx int not null,
      at timestamptz not null,
      primary key (alert_id, action)
    )`);
    this.addSql(`create index compliance_holds_payment on ${s}.compliance_holds (payment_id)`);
  }
}

export const migrations: MigrationDef[] = [
  { name: '0001_payments', class: Payments },
  { name: '0002_compliance_holds', class: ComplianceHolds },
];
