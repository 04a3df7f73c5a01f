import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { SubgraphServerConfig } from '@cpg/shared/config';
import { type RunningService, startSubgraphService } from '@cpg/shared/http';
import type { Logger } from '@cpg/shared/logger';
import { SCHEMA, migrations } from '../migrations';
import type { AddressContext } from './context';
import { entities } from './entities';
import { resolvers } from './resolvers';
import { Catalogue } from './domain/catalogue';
import { AddressService } from './services/addresses';
import { NetworkStatusReader } from './services/network-status';
import { startConsumers } from './consumers';
import { serveAddressAllocation } from './rpc/allocate';

export const typeDefs = readFileSync(path.join(__dirname, '..', 'schema.graphql'), 'utf8');

export function startAddressSubgraph(config: SubgraphServerConfig, log?: Logger, catalogue = new Catalogue()): Promise<RunningService> {
  return startSubgraphService<AddressContext>({
    name: 'address',
    schema: SCHEMA,
    typeDefs,
    resolvers: resolvers as never,
    entities,
    migrations,
    config,
    log,
    context: (base, deps) => {
      const em = deps.orm.em.fork();
      return {
        ...base,
        catalogue,
        addresses: new AddressService(em, catalogue, deps.bus, () => deps.relay.kick(), base.log),
        networkStatus: new NetworkStatusReader(em),
      };
    },
    onStart: async (deps) => {
      await startConsumers(deps);
      serveAddressAllocation(deps, catalogue);
    },
  });
}
