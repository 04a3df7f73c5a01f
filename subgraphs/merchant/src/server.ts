import type { SubgraphServerConfig } from '@cpg/core/config';
import { type RunningService, startSubgraphService, subgraphTypeDefs } from '@cpg/core/http';
import type { Logger } from '@cpg/core/logger';
import { SCHEMA, migrations } from '../migrations';
import type { MerchantContext } from './context';
import { entities } from './entities';
import { LedgerService } from './ledger/ledger-service';
import { resolvers } from './resolvers';
import { serveApiKeyVerification } from './rpc/verify-api-key';
import { startColdForwardLedgerConsumer, startCollectionFeeLedgerConsumer, startDepositLedgerConsumer, startWithdrawalLedgerConsumer } from './consumers';
import { serveLedgerHold } from './rpc/ledger-hold';
import { serveLedgerBalances } from './rpc/ledger-balances';
import { MerchantService } from './services/merchants';
import { SecretBox, WebhookDispatcher, WebhookService, startWebhookConsumer } from './webhooks';
import { loadMerchantServerSettings } from './config';

export const typeDefs = subgraphTypeDefs(__dirname);
const subgraph = { name: 'merchant', schema: SCHEMA, typeDefs, resolvers, entities, migrations };

const dispatchers = new WeakMap<RunningService, WebhookDispatcher>();

/** The webhook dispatcher of a running merchant subgraph; tests stop it to simulate a restart. */
export function webhookDispatcherOf(service: RunningService): WebhookDispatcher | undefined {
  return dispatchers.get(service);
}

export async function startMerchantSubgraph(config: SubgraphServerConfig, log?: Logger, env?: Record<string, string | undefined>): Promise<RunningService> {
  const { webhooks: webhookConfig } = loadMerchantServerSettings(config.NODE_ENV, env);
  const box = new SecretBox(webhookConfig.encryptionKey ?? config.GATEWAY_SECRET);
  let dispatcher: WebhookDispatcher | undefined;
  const kick = () => dispatcher?.kick();
  const service = await startSubgraphService<MerchantContext>(subgraph, {
    config,
    log,
    context: (em, deps) => ({
      merchants: new MerchantService(em, () => deps.relay.kick()),
      ledger: new LedgerService(em),
      webhooks: new WebhookService(em, { config: webhookConfig, box, onDeliveriesCreated: kick }),
    }),
    onStart: async (deps) => {
      serveApiKeyVerification(deps.bus, deps.orm);
      await startDepositLedgerConsumer(deps);
      serveLedgerHold(deps.bus, deps.orm);
      await startWithdrawalLedgerConsumer(deps);
      serveLedgerBalances(deps.bus, deps.orm);
      await startCollectionFeeLedgerConsumer(deps);
      await startColdForwardLedgerConsumer(deps);
      dispatcher = new WebhookDispatcher({ orm: deps.orm, log: deps.log.child({ component: 'webhooks' }), config: webhookConfig, box });
      dispatcher.start();
      await startWebhookConsumer(deps, kick);
      return dispatcher;
    },
  });
  if (dispatcher) dispatchers.set(service, dispatcher);
  return service;
}
