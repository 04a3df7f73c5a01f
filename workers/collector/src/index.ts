import { z } from 'zod';
import { allNetworks } from '@cpg/chains';
import { loadConfigOrExit, workerConfig } from '@cpg/core/config';
import { runUntilSignal } from '@cpg/core/http';
import { createLogger } from '@cpg/core/logger';
import { startCollectorWorker } from './worker';

// Collector-only settings; the rest (database, NATS, health port) is the shared worker config.
const collectorEnv = z.object({
  /** Comma-separated network ids to collect on; default every enabled network. */
  COLLECTOR_NETWORKS: z.string().optional(),
  COLLECTOR_TICK_MS: z.coerce.number().int().min(100).max(600_000).default(1_000),
  COLLECTOR_PASS_MS: z.coerce.number().int().min(1_000).max(86_400_000).default(60_000),
});

const config = loadConfigOrExit(workerConfig.merge(collectorEnv));
const log = createLogger('collector', config.LOG_LEVEL);
const only = config.COLLECTOR_NETWORKS?.split(',')
  .map((s) => s.trim())
  .filter(Boolean);
const networks = allNetworks().filter((n) => (only ? only.includes(n.id) : n.enabled));

runUntilSignal(() => startCollectorWorker(config, { log, networks, tickMs: config.COLLECTOR_TICK_MS, passMs: config.COLLECTOR_PASS_MS }), log);
