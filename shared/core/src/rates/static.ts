import { ConfigError } from '../config';
import { normalizeRate } from './decimal';
import { RateUnavailableError, systemClock, type Clock, type RateProvider, type RateQuote } from './provider';

/**
 * FOR DEVELOPMENT AND TESTS ONLY: a fixed table of rates from config, so dev chains (whose coins
 * have no market) can be priced and callers of RateService can be tested without HTTP. It never
 * changes with the market; wiring it into a production chain would price payments at stale
 * numbers. Keys are "COIN/FIAT", e.g. { "ETH/USD": "3000" }.
 */
export class StaticRateProvider implements RateProvider {
  readonly name: string;
  private readonly table: ReadonlyMap<string, string>;
  private readonly now: Clock;

  constructor(table: Readonly<Record<string, string>>, options: { name?: string; now?: Clock } = {}) {
    this.name = options.name ?? 'static';
    this.now = options.now ?? systemClock;
    const entries = new Map<string, string>();
    for (const [pair, rate] of Object.entries(table)) {
      const [coin, fiat, extra] = pair.split('/');
      if (!coin || !fiat || extra !== undefined) throw new Error(`static rate key ${JSON.stringify(pair)} must look like "COIN/FIAT"`);
      // Checked at start, so a typo in config stops the process instead of failing one payment later.
      entries.set(`${coin.toUpperCase()}/${fiat.toUpperCase()}`, normalizeRate(rate, `${this.name} ${pair}`));
    }
    this.table = entries;
  }

  async getRate(coinSymbol: string, fiat: string): Promise<RateQuote> {
    const rate = this.table.get(`${coinSymbol.toUpperCase()}/${fiat.toUpperCase()}`);
    if (rate === undefined) throw new RateUnavailableError(`${this.name}: no rate configured for ${coinSymbol}/${fiat}`);
    return { rate, at: this.now(), source: this.name };
  }
}

/** RATES_STATIC (`COIN:FIAT=RATE,...`, e.g. `BTC:USD=65000,ETH:USD=3000`) -> the table above; a bad entry is a ConfigError naming it. */
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
