import type { SubgraphServerConfig } from '@cpg/core/config';
import { type RunningService, startSubgraphService, subgraphTypeDefs } from '@cpg/core/http';
import { serveWithdrawalSnapshot } from './rpc/snapshot';
import { serveVerifyBatch } from './rpc/verify-batch';
import type { Logger } from '@cpg/core/logger';
import { SCHEMA, migrations } from '../migrations';
import type { WithdrawalContext } from './context';
import { resolvers } from './resolvers';
import { loadWithdrawalServerSettings } from './config';
import { startConsumers } from './consumers';
import { startBatcher } from './services/batcher';
import { ChainFeeEstimator, StaticFeeEstimator } from './services/fees';
import { AllowAllScreening, NatsScreening, type WithdrawalScreening } from './services/screening';
import { WithdrawalService } from './services/withdrawals';

export const typeDefs = subgraphTypeDefs(__dirname);
const subgraph = { name: 'withdrawal', schema: SCHEMA, typeDefs, resolvers, migrations };

export async function startWithdrawalSubgraph(config: SubgraphServerConfig, log?: Logger, env?: Record<string, string | undefined>): Promise<RunningService> {
  const { withdrawal: wc, catalogue } = loadWithdrawalServerSettings(env);
  const fees = wc.WITHDRAWAL_FEE_ESTIMATOR === 'static' ? new StaticFeeEstimator() : new ChainFeeEstimator();
  let batcher: ReturnType<typeof startBatcher> | undefined;
  // Fail closed: with screening on, nothing is let through before the NATS hook is in place.
  let screening: WithdrawalScreening =
    wc.COMPLIANCE_SCREENING === 'nats'
      ? {
          screen: async () => {
            throw new Error('compliance screening is not connected yet');
          },
        }
      : new AllowAllScreening();
  return startSubgraphService<WithdrawalContext>(subgraph, {
    config,
    log,
    context: (em, deps, base) => ({
      withdrawals: new WithdrawalService(em, {
        catalogue,
        bus: deps.bus,
        screening,
        fees,
        holdTimeoutMs: wc.LEDGER_HOLD_TIMEOUT_MS,
        onCommitted: () => deps.relay.kick(),
        onQueued: () => batcher?.kick(),
        log: base.log,
      }),
    }),
    onStart: async (deps) => {
      if (wc.COMPLIANCE_SCREENING === 'nats') screening = new NatsScreening(deps.bus, wc.COMPLIANCE_SCREEN_TIMEOUT_MS);
      await startConsumers(deps, catalogue);
      serveWithdrawalSnapshot(deps, catalogue);
      serveVerifyBatch(deps);
      // A provisional row older than both timeouts plus a wide margin belongs to a request that died.
      const reapAfterMs = wc.LEDGER_HOLD_TIMEOUT_MS + wc.COMPLIANCE_SCREEN_TIMEOUT_MS + 120_000;
      batcher = startBatcher(
        deps.orm.em,
        wc.WITHDRAWAL_BATCH_INTERVAL_MS,
        () => deps.relay.kick(),
        deps.log.child({ component: 'batcher' }),
        reapAfterMs,
        catalogue,
      );
      return batcher;
    },
  });
}
