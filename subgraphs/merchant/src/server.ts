import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { SubgraphServerConfig } from '@cpg/shared/config';
import { type RunningService, startSubgraphService } from '@cpg/shared/http';
import type { Logger } from '@cpg/shared/logger';
import { SCHEMA, migrations } from '../migrations';
import type { MerchantContext } from './context';
import { entities } from './entities';
import { LedgerService } from './ledger/ledger-service';
import { resolvers } from './resolvers';
import { serveApiKeyVerification } from './rpc/verify-api-key';
import { startDepositLedgerConsumer } from './consumers';
import { MerchantService } from './services/merchants';

export const typeDefs = readFileSync(path.join(__dirname, '..', 'schema.graphql'), 'utf8');

export function startMerchantSubgraph(config: SubgraphServerConfig, log?: Logger): Promise<RunningService> {
  return startSubgraphService<MerchantContext>({
    name: 'merchant',
    schema: SCHEMA,
    typeDefs,
    resolvers: resolvers as never,
    entities,
    migrations,
    config,
    log,
    context: (base, deps) => {
      const em = deps.orm.em.fork();
      return { ...base, merchants: new MerchantService(em, () => deps.relay.kick()), ledger: new LedgerService(em) };
    },
    onStart: async (deps) => {
      serveApiKeyVerification(deps.bus, deps.orm);
      await startDepositLedgerConsumer(deps);
    },
  });
}
