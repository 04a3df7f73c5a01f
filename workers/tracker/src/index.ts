import { z } from 'zod';
import { allNetworks } from '@cpg/chains';
import { loadConfigOrExit, workerConfig } from '@cpg/core/config';
import { runUntilSignal } from '@cpg/core/http';
import { createLogger } from '@cpg/core/logger';
import { startTrackerWorker } from './worker';

// Tracker-only settings; the rest (database, NATS, health port) is the shared worker config.
const trackerEnv = z.object({
  /** Comma-separated network ids to track; default every enabled network. */
  TRACKER_NETWORKS: z.string().optional(),
  TRACKER_LEASE_TTL_MS: z.coerce.number().int().min(500).max(600_000).default(10_000),
  TRACKER_STATUS_INTERVAL_MS: z.coerce.number().int().min(100).max(600_000).default(5_000),
  TRACKER_BATCH_SIZE: z.coerce.number().int().min(1).max(10_000).default(100),
});

const config = loadConfigOrExit(workerConfig.merge(trackerEnv));
const log = createLogger('tracker', config.LOG_LEVEL);
const only = config.TRACKER_NETWORKS?.split(',')
  .map((s) => s.trim())
  .filter(Boolean);
const networks = allNetworks().filter((n) => (only ? only.includes(n.id) : n.enabled));
if (only)
  for (const id of only)
    if (!networks.some((n) => n.id === id)) {
      log.fatal({ network: id }, 'TRACKER_NETWORKS names an unknown network');
      process.exit(1);
    }
// `TRACKER_START_HEIGHT_<ID>`: where a network without a cursor starts (default: after the tip).
const startHeights: Record<string, number> = {};
for (const n of networks) {
  const v = process.env[`TRACKER_START_HEIGHT_${n.id.toUpperCase().replace(/-/g, '_')}`];
  if (v !== undefined) {
    if (!/^\d+$/.test(v)) {
      log.fatal({ network: n.id }, `TRACKER_START_HEIGHT for ${n.id} must be a whole number`);
      process.exit(1);
    }
    startHeights[n.id] = Number(v);
  }
}

runUntilSignal(
  () =>
    startTrackerWorker(config, {
      log,
      networks,
      startHeights,
      leaseTtlMs: config.TRACKER_LEASE_TTL_MS,
      scanner: { statusIntervalMs: config.TRACKER_STATUS_INTERVAL_MS, batchSize: config.TRACKER_BATCH_SIZE },
    }),
  log,
);
