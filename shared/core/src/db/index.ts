export * from './orm';
export * from './outbox';
export { sharedMigrations } from './shared-migrations';
export { Migration } from '@mikro-orm/migrations';
export { defineEntity, p } from '@mikro-orm/core';
