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

/**
 * The payment subgraph becomes the one producer of a deposit's ledger effects (issue 17): it keeps
 * what it has told the ledger about each deposit's current generation (`ledger`, see
 * src/domain/deposit-ledger) and every compliance decision per deposit, CLEAR included
 * (`deposit_decisions`), and decides each effect from them under the deposit's row lock.
 *
 * Rows from before are filled in from what this subgraph knew then: a seen deposit of a payment
 * was told as seen; a confirmed one was credited, to available when its hold was released, else
 * to held (a hold, or a credit still waiting for compliance). A credit that an earlier CLEAR had
 * already made available is not known here (CLEAR was not recorded); it only matters if that
 * deposit is reorged after its credit, which then takes it back from held.
 */
class DepositLedgerState extends Migration {
  override async up(): Promise<void> {
    const s = `"${SCHEMA}"`;
    this.addSql(`alter table ${s}.deposits add column ledger text not null default 'none' check (ledger in ('none','seen','available','held','reversed'))`);
    this.addSql(`create table ${s}.deposit_decisions (
      network_id text not null,
      tx_hash text not null,
      idx int not null,
      action text not null check (action in ('CLEAR','HOLD','RELEASE','BLOCK')),
      at timestamptz not null,
      primary key (network_id, tx_hash, idx, action)
    )`);
    this.addSql(`insert into ${s}.deposit_decisions (network_id, tx_hash, idx, action, at)
      select network_id, tx_hash, idx, action, min(at) from ${s}.compliance_holds group by network_id, tx_hash, idx, action`);
    this.addSql(`update ${s}.deposits d set ledger = case
        when d.below_minimum then 'none'
        when d.status = 'SEEN' then case when d.payment_id is null then 'none' else 'seen' end
        when d.status = 'REORGED' then 'reversed'
        when exists (select 1 from ${s}.deposit_decisions x where x.network_id = d.network_id and x.tx_hash = d.tx_hash and x.idx = d.idx and x.action = 'RELEASE')
          then 'available'
        else 'held' end`);
  }
}

/**
 * Each payment counts the changes it announces (`payment.updated`): the event and the API carry
 * the count, so a subscriber or a replica can tell a newer state from an older or repeated one.
 * Payments from before start at 0; their next change is 1.
 */
class PaymentVersion extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "${SCHEMA}".payments add column version integer not null default 0`);
  }
}

export const migrations: MigrationDef[] = [
  { name: '0001_payments', class: Payments },
  { name: '0002_compliance_holds', class: ComplianceHolds },
  { name: '0003_deposit_ledger_state', class: DepositLedgerState },
  { name: '0004_payment_version', class: PaymentVersion },
];
