import type { Migration } from '@mikro-orm/migrations';

/** One migration of a schema; its own module so the shared migrations and the ORM setup both use it without importing each other. */
export interface MigrationDef {
  /** Unique and sortable within the schema, e.g. "0001_merchants". Never rename once released. */
  name: string;
  class: new (...args: any[]) => Migration;
}
