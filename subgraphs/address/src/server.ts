import type { SubgraphServerConfig } from '@cpg/core/config';
import { type RpcPool, createRpcPool } from '@cpg/chains/rpc';
import { type RunningService, startSubgraphService, subgraphTypeDefs } from '@cpg/core/http';
import type { Logger } from '@cpg/core/logger';
import { SCHEMA, migrations } from '../migrations';
import type { AddressContext } from './context';
import { entities } from './entities';
import { resolvers } from './resolvers';
import { Catalogue } from './domain/catalogue';
import { AddressService } from './services/addresses';
import { CollectionService, type TransportFor } from './services/collection';
import { NetworkStatusReader } from './services/network-status';
import { ReconciliationService } from './services/reconciliation';
import { startConsumers } from './consumers';
import { serveAddressAllocation } from './rpc/allocate';
import { serveEnsureHot } from './rpc/ensure-hot';
import { serveAddressDescribe } from './rpc/describe';
import { serveAddressLookup } from './rpc/lookup';
import { type AddressConfig, loadAddressConfig } from './config';

export const typeDefs = subgraphTypeDefs(__dirname);
const subgraph = { name: 'address', schema: SCHEMA, typeDefs, resolvers, entities, migrations };

/** One pooled transport per network, shared by every request (balance reads). */
function pooledTransports(): TransportFor {
  const pools = new Map<string, RpcPool>();
  return (network) => {
    let pool = pools.get(network.id);
    if (!pool) pools.set(network.id, (pool = createRpcPool(network.rpc, { name: `address ${network.id}`, timeoutMs: 5_000, maxAttempts: 2 })));
    return pool;
  };
}

export function startAddressSubgraph(
  config: SubgraphServerConfig,
  log?: Logger,
  catalogue = new Catalogue(),
  transportFor: TransportFor = pooledTransports(),
  own: AddressConfig = loadAddressConfig(),
): Promise<RunningService> {
  const options = { coolingOffHours: own.COLD_WALLET_COOLING_OFF_HOURS, screenTimeoutMs: own.COLD_WALLET_SCREEN_TIMEOUT_MS };
  return startSubgraphService<AddressContext>(subgraph, {
    config,
    log,
    context: (em, deps, base) => ({
      catalogue,
      addresses: new AddressService(em, catalogue, deps.bus, () => deps.relay.kick(), base.log, options),
      networkStatus: new NetworkStatusReader(em),
      collection: new CollectionService(em, catalogue, transportFor, () => deps.relay.kick(), base.log),
      reconciliation: new ReconciliationService(em, catalogue, deps.bus, transportFor, base.log),
    }),
    onStart: async (deps) => {
      await startConsumers(deps);
      serveAddressAllocation(deps, catalogue);
      serveEnsureHot(deps, catalogue);
      serveAddressDescribe(deps);
      serveAddressLookup(deps, catalogue);
    },
  });
}
