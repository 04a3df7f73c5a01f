import { z } from 'zod';
import { ConfigError } from '@cpg/shared/config';
import { StaticRateProvider } from '@cpg/shared/rates';

/**
 * Dev rates: the dev chains' coins have no market, and the real providers need the internet.
 * Override with RATES_STATIC="BTC:USD=65000,ETH:USD=3000,..." (coin:fiat=rate, comma separated).
 */
export const DEFAULT_RATES_STATIC = 'BTC:USD=65000,ETH:USD=3000,LTC:USD=80,USDT:USD=1,USDC:USD=1,TRX:USD=0.12,BNB:USD=600,POL:USD=0.5';
export const DEFAULT_PUBLIC_CHECKOUT_URL = 'http://127.0.0.1:5173';

const model = z.object({
  RATES_STATIC: z.string().default(DEFAULT_RATES_STATIC),
  PUBLIC_CHECKOUT_URL: z
    .string()
    .url('PUBLIC_CHECKOUT_URL must be an absolute URL')
    .default(DEFAULT_PUBLIC_CHECKOUT_URL)
    .transform((u) => u.replace(/\/+$/, '')),
  /** How often the expiry sweeper looks for payments past their expiry. */
  PAYMENT_EXPIRY_SWEEP_MS: z.coerce.number().int().min(100).max(600_000).default(2000),
});
export type PaymentConfig = z.infer<typeof model>;

export function parseRatesStatic(spec: string): Record<string, string> {
  const table: Record<string, string> = {};
  for (const part of spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const m = /^([A-Za-z0-9]+):([A-Za-z]{3})=([0-9.]+)$/.exec(part);
    if (!m) throw new ConfigError([`RATES_STATIC: "${part}" must look like COIN:FIAT=RATE, e.g. BTC:USD=65000`]);
    table[`${m[1]!.toUpperCase()}/${m[2]!.toUpperCase()}`] = m[3]!;
  }
  return table;
}

/** Read once at start; a bad value stops the process naming the variable. */
export function loadPaymentConfig(env: Record<string, string | undefined> = process.env): PaymentConfig & { rates: StaticRateProvider } {
  const parsed = model.safeParse(env);
  if (!parsed.success) throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  let rates: StaticRateProvider;
  try {
    rates = new StaticRateProvider(parseRatesStatic(parsed.data.RATES_STATIC), { name: 'static' });
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError([`RATES_STATIC: ${(err as Error).message}`]);
  }
  return { ...parsed.data, rates };
}
