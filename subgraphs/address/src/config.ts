/**
 * Address subgraph settings, read from the environment once at start (besides the shared subgraph
 * ones: PORT, DATABASE_URL, NATS_URL, GATEWAY_SECRET, ...).
 *
 * - COLD_WALLET_COOLING_OFF_HOURS: how long a newly registered COLD wallet that screening let
 *   through waits before the collector may forward funds to it (default 24; 0 to 720, fractions
 *   allowed). The operator may approve it earlier (approveColdWallet).
 * - COLD_WALLET_SCREEN_TIMEOUT_MS: how long compliance may take to screen a COLD wallet (default
 *   5000); no answer refuses the registration (UNAVAILABLE, nothing stored).
 */
import { z } from 'zod';
import { parseConfig } from '@cpg/core/config';

export const addressConfigModel = z.object({
  COLD_WALLET_COOLING_OFF_HOURS: z.coerce.number().min(0).max(720).default(24),
  COLD_WALLET_SCREEN_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(5000),
});
export type AddressConfig = z.infer<typeof addressConfigModel>;

export function loadAddressConfig(env: Record<string, string | undefined> = process.env): AddressConfig {
  return parseConfig(addressConfigModel, env);
}
