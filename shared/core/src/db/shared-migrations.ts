import { Migration } from '@mikro-orm/migrations';
import type { MigrationDef } from './migration-def';

/**
 * Tables every subgraph schema carries: the outbox (events written in the same transaction as
 * the state change) and processed_messages (one row per effect a consumer applied, which makes
 * redelivery harmless). Named with a leading 0000 so they run before a subgraph's own.
 */
export function sharedMigrations(schema: string): MigrationDef[] {
  class OutboxAndInbox extends Migration {
    override async up(): Promise<void> {
      this.addSql(`create table if not exists "${schema}".outbox (
        id uuid primary key,
        seq bigserial not null,
        subject text not null,
        type text not null,
        payload jsonb not null,
        created_at timestamptz not null default now(),
        published_at timestamptz,
        attempts int not null default 0,
        last_error text
      )`);
      this.addSql(`create index if not exists outbox_unpublished on "${schema}".outbox (seq) where published_at is null`);
      this.addSql(`create table if not exists "${schema}".processed_messages (
        consumer text not null,
        message_id text not null,
        processed_at timestamptz not null default now(),
        primary key (consumer, message_id)
      )`);
    }
  }
  return [{ name: '0000_outbox_and_inbox', class: OutboxAndInbox }];
}
