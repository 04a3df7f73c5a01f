import { allNetworks } from '@cpg/chains';
import { runUntilSignal } from '@cpg/core/http';
import { createLogger } from '@cpg/core/logger';
import { loadCollectorConfig } from './config';
import { usdPrices } from './domain/policy';
import { startCollectorWorker } from './worker';

const config = loadCollectorConfig();
const log = createLogger('collector', config.LOG_LEVEL);
const only = config.COLLECTOR_NETWORKS?.split(',')
  .map((s) => s.trim())
  .filter(Boolean);
const networks = allNetworks().filter((n) => (only ? only.includes(n.id) : n.enabled));

runUntilSignal(
  () =>
    startCollectorWorker(config, {
      log,
      networks,
      tickMs: config.COLLECTOR_TICK_MS,
      passMs: config.COLLECTOR_PASS_MS,
      usdPrices: usdPrices(config.RATES_STATIC),
    }),
  log,
);
