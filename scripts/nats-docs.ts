// `npm run docs:nats`: writes docs/nats-permissions.md from the permission table
// (shared/core/src/bus/permissions.ts); shared/core/src/bus/permissions.spec.ts fails when it is stale.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { permissionsMarkdown } from '@cpg/core/bus/permissions';

const file = path.resolve(__dirname, '..', 'docs', 'nats-permissions.md');
writeFileSync(file, permissionsMarkdown());
console.log(`wrote ${path.relative(process.cwd(), file)}`);
