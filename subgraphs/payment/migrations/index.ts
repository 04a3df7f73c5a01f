import type { MigrationDef } from '@cpg/shared/db';

export const SCHEMA = 'payment';

// The shared outbox and processed_messages tables are added by startSubgraphService; this
// subgraph's own tables arrive with the features that fill them.
export const migrations: MigrationDef[] = [];
