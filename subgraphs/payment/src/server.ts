import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { SubgraphServerConfig } from '@cpg/shared/config';
import { type RunningService, startSubgraphService } from '@cpg/shared/http';
import type { Logger } from '@cpg/shared/logger';
import { SCHEMA, migrations } from '../migrations';
import type { PaymentContext } from './context';
import { resolvers } from './resolvers';

export const typeDefs = readFileSync(path.join(__dirname, '..', 'schema.graphql'), 'utf8');

export function startPaymentSubgraph(config: SubgraphServerConfig, log?: Logger): Promise<RunningService> {
  return startSubgraphService<PaymentContext>({
    name: 'payment',
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
