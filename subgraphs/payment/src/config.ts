/**
 * Payment subgraph settings, read from the environment once at start (besides the shared
 * subgraph ones: PORT, DATABASE_URL, NATS_URL, GATEWAY_SECRET, ...).
 *
 * Exchange rates (fiat-priced payments lock one at creation; no fresh rate means UNAVAILABLE,
 * never a guessed price):
 * - RATE_PROVIDERS: comma-separated chain of providers asked in order, the next one when one
 *   fails, times out or answers a stale rate: `coingecko`, `kraken`, `static`. Default `static`:
 *   the dev chains' coins have no market and dev and test machines have no internet. Production
 *   sets e.g. `coingecko,kraken`; `static` there would price payments at a frozen table.
 * - RATE_MAX_AGE_SECONDS: a quote older than this (by the provider's own timestamp) is refused.
 *   Default 600.
 * - RATES_STATIC: the `static` provider's table, "BTC:USD=65000,ETH:USD=3000,..." (COIN:FIAT=RATE).
 * - COINGECKO_BASE_URL (default the public API; the paid plan is https://pro-api.coingecko.com/api/v3),
 *   COINGECKO_API_KEY (optional) and COINGECKO_API_KEY_HEADER (`x-cg-demo-api-key`, the default,
 *   or `x-cg-pro-api-key`).
 * - KRAKEN_BASE_URL (default https://api.kraken.com/0/public).
 * - PRICE_CURRENCIES: the fiat currencies merchants may price in, "USD,EUR". Default: the fiat
 *   currencies of RATES_STATIC (USD). Any other priceCurrency is BAD_USER_INPUT naming this list.
 *
 * Checkout and expiry:
 * - PUBLIC_CHECKOUT_URL: where the checkout widget is served; `checkoutUrl` is built on it.
 * - PAYMENT_EXPIRY_SWEEP_MS: how often payments past their expiry are looked for.
 */
import { z } from 'zod';
import { CoinCatalogue, allNetworks } from '@cpg/chains';
import { ConfigError, parseConfig } from '@cpg/core/config';
import {
  type Clock,
  CoinGeckoProvider,
  type FetchLike,
  KrakenProvider,
  type RateProvider,
  RateService,
  StaticRateProvider,
  parseRatesStatic,
} from '@cpg/core/rates';

export const DEFAULT_RATES_STATIC = 'BTC:USD=65000,ETH:USD=3000,LTC:USD=80,USDT:USD=1,USDC:USD=1,TRX:USD=0.12,BNB:USD=600,POL:USD=0.5';
export const DEFAULT_PUBLIC_CHECKOUT_URL = 'http://127.0.0.1:5173';

export const RATE_PROVIDER_NAMES = ['coingecko', 'kraken', 'static'] as const;
export type RateProviderName = (typeof RATE_PROVIDER_NAMES)[number];

const model = z.object({
  /**
   * Key of the checkout-token HMAC. Unset: derived from GATEWAY_SECRET (then rotating that
   * secret changes every open payment's checkout link). Set it to decouple the two.
   */
  CHECKOUT_TOKEN_SECRET: z.string().min(16, 'at least 16 characters').optional(),
  RATES_STATIC: z.string().default(DEFAULT_RATES_STATIC),
  RATE_PROVIDERS: z
    .string()
    .default('static')
    .transform((v, ctx) => {
      const names = v
        .split(',')
        .map((s) => s.trim().toLowerCase())
        .filter(Boolean);
      const unknown = names.filter((n) => !(RATE_PROVIDER_NAMES as readonly string[]).includes(n));
      if (unknown.length)
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: `unknown provider(s) ${unknown.join(', ')}; use ${RATE_PROVIDER_NAMES.join(', ')}` });
      if (!names.length) ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'name at least one provider' });
      if (new Set(names).size !== names.length) ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'a provider is listed twice' });
      return names as RateProviderName[];
    }),
  PRICE_CURRENCIES: z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined) return undefined;
      const codes = v
        .split(',')
        .map((s) => s.trim().toUpperCase())
        .filter(Boolean);
      const bad = codes.filter((c) => !/^[A-Z]{3}$/.test(c));
      if (bad.length) ctx.addIssue({ code: z.ZodIssueCode.custom, message: `not ISO 4217 codes: ${bad.join(', ')}` });
      if (!codes.length) ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'name at least one currency, e.g. USD' });
      return [...new Set(codes)];
    }),
  RATE_MAX_AGE_SECONDS: z.coerce.number().int().min(1).max(86_400).default(600),
  COINGECKO_BASE_URL: z.string().url().optional(),
  COINGECKO_API_KEY: z.string().min(1).optional(),
  COINGECKO_API_KEY_HEADER: z.enum(['x-cg-demo-api-key', 'x-cg-pro-api-key']).optional(),
  KRAKEN_BASE_URL: z.string().url().optional(),
  PUBLIC_CHECKOUT_URL: z
    .string()
    .url('PUBLIC_CHECKOUT_URL must be an absolute URL')
    .default(DEFAULT_PUBLIC_CHECKOUT_URL)
    .transform((u) => u.replace(/\/+$/, '')),
  /** How often the expiry sweeper looks for payments past their expiry. */
  PAYMENT_EXPIRY_SWEEP_MS: z.coerce.number().int().min(100).max(600_000).default(2000),
});
export type PaymentConfig = z.infer<typeof model>;

/** Read once at start; a bad value stops the process naming the variable. */
export function loadPaymentConfig(
  env: Record<string, string | undefined> = process.env,
): PaymentConfig & { rates: StaticRateProvider; priceCurrencies: string[] } {
  // parseConfig also reads X_FILE for the model's own variables (secrets as mounted files).
  const data = parseConfig(model, env);
  let rates: StaticRateProvider;
  let table: Record<string, string>;
  try {
    table = parseRatesStatic(data.RATES_STATIC);
    rates = new StaticRateProvider(table, { name: 'static' });
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError([`RATES_STATIC: ${(err as Error).message}`]);
  }
  const priceCurrencies = data.PRICE_CURRENCIES ?? [...new Set(Object.keys(table).map((pair) => pair.split('/')[1]!))].sort();
  if (!priceCurrencies.length) throw new ConfigError(['PRICE_CURRENCIES: RATES_STATIC names no currency; set PRICE_CURRENCIES, e.g. USD']);
  return { ...data, rates, priceCurrencies };
}

/**
 * The rate chain the config names, in its order. `fetch` and `now` are for tests (local HTTP
 * servers, old clocks); production passes nothing.
 */
export function buildRateService(config: PaymentConfig & { rates: StaticRateProvider }, opts: { fetch?: FetchLike; now?: Clock } = {}): RateService {
  const fetch = opts.fetch ?? (globalThis.fetch as FetchLike);
  const providers = config.RATE_PROVIDERS.map((name): RateProvider => {
    switch (name) {
      case 'static':
        return config.rates;
      case 'coingecko':
        return new CoinGeckoProvider({
          fetch,
          baseUrl: config.COINGECKO_BASE_URL,
          apiKey: config.COINGECKO_API_KEY,
          apiKeyHeader: config.COINGECKO_API_KEY_HEADER,
          now: opts.now,
        });
      case 'kraken':
        return new KrakenProvider({ fetch, baseUrl: config.KRAKEN_BASE_URL, now: opts.now });
    }
  });
  return new RateService({ providers, maxAgeMs: config.RATE_MAX_AGE_SECONDS * 1000, now: opts.now });
}

/** What the payment server reads from its environment, once at start. */
export interface PaymentServerSettings {
  payment: ReturnType<typeof loadPaymentConfig>;
  /** Coins of the configured networks (the chain settings: DEV_CHAINS, CHAIN_RPC_<NETWORK>, ...). */
  catalogue: CoinCatalogue;
  /** Every configured network, enabled or not: deposits of any of them are the payment's to track. */
  networkIds: Set<string>;
}

/** `env` is for tests and embedders; a process passes nothing and its own environment is read. */
export function loadPaymentServerSettings(env: Record<string, string | undefined> = process.env): PaymentServerSettings {
  return { payment: loadPaymentConfig(env), catalogue: new CoinCatalogue(env), networkIds: new Set(allNetworks(env).map((n) => n.id)) };
}
