import type { SubgraphServerConfig } from '@cpg/core/config';
import { type RunningService, startSubgraphService, subgraphTypeDefs } from '@cpg/core/http';
import type { Logger } from '@cpg/core/logger';
import { SCHEMA, migrations } from '../migrations';
import type { PaymentContext } from './context';
import { resolvers } from './resolvers';
import { buildRateService, loadPaymentServerSettings } from './config';
import { checkoutKey } from './domain/checkout-token';
import { PaymentService } from './services/payments';
import { startSweeper } from './services/sweeper';
import { startConsumers } from './consumers';
import { servePaymentSnapshot } from './rpc/snapshot';

export const typeDefs = subgraphTypeDefs(__dirname);
const subgraph = { name: 'payment', schema: SCHEMA, typeDefs, resolvers, migrations };

export async function startPaymentSubgraph(config: SubgraphServerConfig, log?: Logger, env?: Record<string, string | undefined>): Promise<RunningService> {
  const { payment: paymentConfig, catalogue, networkIds } = loadPaymentServerSettings(env);
  const rates = buildRateService(paymentConfig);
  // Every replica derives the same key: from its own secret when set, else from the one shared with the gateway.
  const tokenKey = checkoutKey(paymentConfig.CHECKOUT_TOKEN_SECRET ?? config.GATEWAY_SECRET);
  return startSubgraphService<PaymentContext>(subgraph, {
    config,
    log,
    context: (em, deps, base) => ({
      payments: new PaymentService(em, {
        catalogue,
        rates,
        priceCurrencies: paymentConfig.priceCurrencies,
        bus: deps.bus,
        tokenKey,
        checkoutBaseUrl: paymentConfig.PUBLIC_CHECKOUT_URL,
        onCommitted: () => deps.relay.kick(),
        log: base.log,
      }),
    }),
    onStart: async (deps) => {
      await startConsumers(deps, catalogue, networkIds);
      servePaymentSnapshot(deps, catalogue);
      return startSweeper(deps.orm.em, paymentConfig.PAYMENT_EXPIRY_SWEEP_MS, () => deps.relay.kick(), deps.log.child({ component: 'expiry' }));
    },
  });
}
