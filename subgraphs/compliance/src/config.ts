/**
 * Compliance settings, read once at start (besides the shared subgraph ones).
 *
 * - SANCTIONS_DIR: folder of OFAC per-asset lists (`sanctioned_addresses_<ASSET>.json`) with an
 *   optional META.json `{date, source}`. Default: the snapshot shipped in the repository,
 *   `shared/fixtures/sanctions/brave-intl_2025-11-19` (list of 2025-11-19).
 * - SANCTIONS_LIST_URL: where `npm run sanctions:update -w @cpg/subgraph-compliance` downloads
 *   the lists from (`<url>/sanctioned_addresses_<ASSET>.json`). Default: the `lists` branch of
 *   0xB10C/ofac-sanctioned-digital-currency-addresses on raw.githubusercontent.com.
 * - KYT_PROVIDER: `none` (default) or `chainalysis`; KYT_PROVIDER_URL, KYT_PROVIDER_API_KEY
 *   (required with chainalysis), KYT_PROVIDER_TIMEOUT_MS (default 3000), KYT_PROVIDER_REQUIRED
 *   (default 1): when required, a provider that fails makes the screening at least REVIEW;
 *   when not, the screening uses the local rules and says the provider was not consulted.
 * - COMPLIANCE_TRAVEL_RULE_USD (default 1000), COMPLIANCE_REVIEW_ABOVE_USD (default 10000),
 *   COMPLIANCE_VELOCITY_MAX (default 10 transfers from one sender to one merchant), COMPLIANCE_VELOCITY_WINDOW_MINUTES (60),
 *   COMPLIANCE_STRUCTURING_COUNT (3), COMPLIANCE_STRUCTURING_BAND (0.1: within 10 % under the
 *   travel-rule threshold).
 * - RATES_STATIC: USD rates for amount rules, as in the payment subgraph (COIN:USD=RATE,...).
 */
import path from 'node:path';
import { z } from 'zod';
import { allNetworks } from '@cpg/chains';
import { parseConfig } from '@cpg/core/config';
import { DEFAULT_THRESHOLDS, type Thresholds } from './domain/engine';
import { parseRatesStatic } from '@cpg/core/rates';
import { usdToCents } from './domain/fiat';

export const DEFAULT_SANCTIONS_DIR = path.resolve(__dirname, '..', '..', '..', 'shared', 'fixtures', 'sanctions', 'brave-intl_2025-11-19');
export const DEFAULT_SANCTIONS_URL = 'https://raw.githubusercontent.com/0xB10C/ofac-sanctioned-digital-currency-addresses/lists';
export const DEFAULT_RATES_STATIC = 'BTC:USD=65000,ETH:USD=3000,LTC:USD=80,USDT:USD=1,USDC:USD=1,TRX:USD=0.12,BNB:USD=600,POL:USD=0.5';

const flag = z.enum(['0', '1', 'true', 'false']).transform((v) => v === '1' || v === 'true');

const model = z
  .object({
    SANCTIONS_DIR: z.string().min(1).default(DEFAULT_SANCTIONS_DIR),
    SANCTIONS_LIST_URL: z.string().url().default(DEFAULT_SANCTIONS_URL),
    KYT_PROVIDER: z.enum(['none', 'chainalysis']).default('none'),
    KYT_PROVIDER_URL: z.string().url().optional(),
    KYT_PROVIDER_API_KEY: z.string().min(1).optional(),
    KYT_PROVIDER_TIMEOUT_MS: z.coerce.number().int().min(50).max(60_000).default(3000),
    KYT_PROVIDER_REQUIRED: flag.default('1'),
    COMPLIANCE_TRAVEL_RULE_USD: z.coerce.number().min(0).default(1000),
    COMPLIANCE_REVIEW_ABOVE_USD: z.coerce.number().min(0).default(10_000),
    COMPLIANCE_VELOCITY_MAX: z.coerce.number().int().min(2).max(10_000).default(DEFAULT_THRESHOLDS.velocityMax),
    COMPLIANCE_VELOCITY_WINDOW_MINUTES: z.coerce.number().int().min(1).max(10_080).default(60),
    COMPLIANCE_STRUCTURING_COUNT: z.coerce.number().int().min(2).max(1000).default(DEFAULT_THRESHOLDS.structuringCount),
    COMPLIANCE_STRUCTURING_BAND: z.coerce.number().gt(0).lt(1).default(0.1),
    RATES_STATIC: z.string().default(DEFAULT_RATES_STATIC),
  })
  .superRefine((v, ctx) => {
    if (v.KYT_PROVIDER === 'chainalysis' && !v.KYT_PROVIDER_API_KEY)
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['KYT_PROVIDER_API_KEY'], message: 'required when KYT_PROVIDER=chainalysis' });
  });

export type ComplianceConfig = z.infer<typeof model> & { thresholds: Thresholds; rates: Record<string, string> };

export function loadComplianceConfig(env: Record<string, string | undefined> = process.env): ComplianceConfig {
  // parseConfig also reads X_FILE for the model's own variables (secrets as mounted files).
  const c = parseConfig(model, env);
  return {
    ...c,
    rates: parseRatesStatic(c.RATES_STATIC),
    thresholds: {
      travelRuleCents: usdToCents(c.COMPLIANCE_TRAVEL_RULE_USD),
      reviewAboveCents: usdToCents(c.COMPLIANCE_REVIEW_ABOVE_USD),
      velocityMax: c.COMPLIANCE_VELOCITY_MAX,
      velocityWindowMs: c.COMPLIANCE_VELOCITY_WINDOW_MINUTES * 60_000,
      structuringCount: c.COMPLIANCE_STRUCTURING_COUNT,
      structuringBandBps: Math.round(c.COMPLIANCE_STRUCTURING_BAND * 10_000),
    },
  };
}

/** What the compliance server reads from its environment, once at start. */
export interface ComplianceServerSettings {
  compliance: ComplianceConfig;
  /** The chain settings (DEV_CHAINS, CHAIN_RPC_<NETWORK>, ...) the screening builds its networks from. */
  chainEnv: Record<string, string | undefined>;
  /** Every configured network, enabled or not: deposits of any of them are screened. */
  networkIds: Set<string>;
}

/** `env` is for tests and embedders; a process passes nothing and its own environment is read. */
export function loadComplianceServerSettings(env: Record<string, string | undefined> = process.env): ComplianceServerSettings {
  return { compliance: loadComplianceConfig(env), chainEnv: env, networkIds: new Set(allNetworks(env).map((n) => n.id)) };
}
