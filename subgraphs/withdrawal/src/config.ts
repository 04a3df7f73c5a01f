/**
 * Withdrawal subgraph settings, read from the environment once at start (besides the shared
 * subgraph ones: PORT, DATABASE_URL, NATS_URL, GATEWAY_SECRET, ...).
 *
 * - COMPLIANCE_SCREENING: `nats` (default) asks the compliance subgraph (`compliance.screen`
 *   request-reply) and refuses to accept a withdrawal (UNAVAILABLE, nothing left behind) while it
 *   does not answer within COMPLIANCE_SCREEN_TIMEOUT_MS: an unscreened withdrawal is never let
 *   through. BLOCK rejects, REVIEW sends the withdrawal to the operator (PENDING_APPROVAL).
 *   `allow` lets every withdrawal through unscreened (tests, or a gateway run without compliance).
 * - COMPLIANCE_SCREEN_TIMEOUT_MS: how long a screening may take (default 5000).
 * - LEDGER_HOLD_TIMEOUT_MS: how long the merchant ledger may take to answer a hold (default 5000).
 *   A hold that times out is compensated by a release through the outbox, which also stops a
 *   hold arriving later.
 * - WITHDRAWAL_BATCH_INTERVAL_MS: how often the batcher looks for queued withdrawals whose
 *   batch is due (default 1000; a new withdrawal also wakes it).
 * - WITHDRAWAL_FEE_ESTIMATOR: `chain` (default: ask the network's RPC, static fallback) or
 *   `static` (the per-family table in services/fees.ts only).
 */
import { z } from 'zod';
import { CoinCatalogue } from '@cpg/chains';
import { parseConfig } from '@cpg/core/config';

const model = z.object({
  COMPLIANCE_SCREENING: z.enum(['allow', 'nats']).default('nats'),
  COMPLIANCE_SCREEN_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(5000),
  LEDGER_HOLD_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(5000),
  WITHDRAWAL_BATCH_INTERVAL_MS: z.coerce.number().int().min(50).max(600_000).default(1000),
  WITHDRAWAL_FEE_ESTIMATOR: z.enum(['chain', 'static']).default('chain'),
});
export type WithdrawalConfig = z.infer<typeof model>;

export function loadWithdrawalConfig(env: Record<string, string | undefined> = process.env): WithdrawalConfig {
  // parseConfig also reads X_FILE for the model's own variables (secrets as mounted files).
  return parseConfig(model, env);
}

/** What the withdrawal server reads from its environment, once at start. */
export interface WithdrawalServerSettings {
  withdrawal: WithdrawalConfig;
  /** Coins of the configured networks (the chain settings: DEV_CHAINS, CHAIN_RPC_<NETWORK>, ...). */
  catalogue: CoinCatalogue;
}

/** `env` is for tests and embedders; a process passes nothing and its own environment is read. */
export function loadWithdrawalServerSettings(env: Record<string, string | undefined> = process.env): WithdrawalServerSettings {
  return { withdrawal: loadWithdrawalConfig(env), catalogue: new CoinCatalogue(env) };
}
