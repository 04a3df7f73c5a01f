import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { SubgraphServerConfig } from '@cpg/shared/config';
import { type RunningService, startSubgraphService } from '@cpg/shared/http';
import type { Logger } from '@cpg/shared/logger';
import { SCHEMA, migrations } from '../migrations';
import type { ComplianceContext } from './context';
import { resolvers } from './resolvers';

export const typeDefs = readFileSync(path.join(__dirname, '..', 'schema.graphql'), 'utf8');

export function startComplianceSubgraph(config: SubgraphServerConfig, log?: Logger): Promise<RunningService> {
  return startSubgraphService<ComplianceContext>({
    name: 'compliance',
    schema: SCHEMA,
    typeDefs,
    resolvers: resolvers as never,
    entities: [],
    migrations,
    config,
    log,
    context: (base) => base,
  });
}
