import { z } from 'zod';
import { loadConfigOrExit, workerConfig } from '@cpg/core/config';

/** USD prices used when RATES_STATIC is not set (the payment subgraph's default table). */
export const DEFAULT_USD_PRICES = 'BTC:USD=65000,ETH:USD=3000,LTC:USD=80,USDT:USD=1,USDC:USD=1,TRX:USD=0.12,BNB:USD=600,POL:USD=0.5';

// Collector-only settings; the rest (database, NATS, health port) is the shared worker config.
export const collectorEnv = z.object({
  /** Comma-separated network ids to collect on; default every enabled network. */
  COLLECTOR_NETWORKS: z.string().optional(),
  COLLECTOR_TICK_MS: z.coerce.number().int().min(100).max(600_000).default(1_000),
  COLLECTOR_PASS_MS: z.coerce.number().int().min(1_000).max(86_400_000).default(60_000),
  /** USD prices for weighing gas against tokens, in the RATES_STATIC format (`BTC:USD=65000,...`). */
  RATES_STATIC: z.string().default(DEFAULT_USD_PRICES),
});

export const collectorConfig = workerConfig.merge(collectorEnv);
export type CollectorConfig = z.infer<typeof collectorConfig>;

/** Called once by the process entry; exits with the problems listed when the environment is invalid. */
export function loadCollectorConfig(env: Record<string, string | undefined> = process.env): CollectorConfig {
  return loadConfigOrExit(collectorConfig, env);
}
