import type { SubgraphServerConfig } from '@cpg/core/config';
import { type RunningService, startSubgraphService, subgraphTypeDefs } from '@cpg/core/http';
import type { Logger } from '@cpg/core/logger';
import { RateService, StaticRateProvider } from '@cpg/core/rates';
import { SCHEMA, migrations } from '../migrations';
import type { ComplianceContext } from './context';
import { resolvers } from './resolvers';
import { loadComplianceServerSettings } from './config';
import { loadSanctions } from './services/sanctions-store';
import { ScreeningService } from './services/screening';
import { ChainalysisSanctionsClient } from './providers/chainalysis';
import type { KytProvider } from './providers/provider';
import { startConsumers } from './consumers';
import { serveScreenRpc } from './services/rpc';

export const typeDefs = subgraphTypeDefs(__dirname);
const subgraph = { name: 'compliance', schema: SCHEMA, typeDefs, resolvers, migrations };

export async function startComplianceSubgraph(config: SubgraphServerConfig, log?: Logger, env?: Record<string, string | undefined>): Promise<RunningService> {
  const { compliance: cc, chainEnv, networkIds } = loadComplianceServerSettings(env);
  // Without the list, screening would allow sanctioned senders: a missing list stops the start.
  const sanctions = await loadSanctions(cc.SANCTIONS_DIR);
  const provider: KytProvider | null =
    cc.KYT_PROVIDER === 'chainalysis'
      ? new ChainalysisSanctionsClient({ apiKey: cc.KYT_PROVIDER_API_KEY!, baseUrl: cc.KYT_PROVIDER_URL, timeoutMs: cc.KYT_PROVIDER_TIMEOUT_MS })
      : null;
  const screening = new ScreeningService({
    sanctions,
    provider,
    providerRequired: cc.KYT_PROVIDER_REQUIRED,
    thresholds: cc.thresholds,
    rates: new RateService({ providers: [new StaticRateProvider(cc.rates, { name: 'static' })] }),
    env: chainEnv,
  });
  return startSubgraphService<ComplianceContext>(subgraph, {
    config,
    log,
    context: (em, deps) => ({ em, screening, thresholds: cc.thresholds, kick: () => deps.relay.kick() }),
    onStart: async (deps) => {
      deps.log.info({ sanctionsList: sanctions.meta, addresses: sanctions.size, provider: provider?.name ?? 'none' }, 'screening ready');
      await startConsumers(deps, screening, networkIds);
      serveScreenRpc(deps, screening);
    },
  });
}
