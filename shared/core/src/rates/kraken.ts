import { normalizeRate } from './decimal';
import { getText } from './http';
import { RateUnavailableError, systemClock, type Clock, type FetchLike, type RateProvider, type RateQuote } from './provider';

/** Kraken's own names for assets whose ticker differs from the common symbol. */
export const KRAKEN_DEFAULT_ASSETS: Readonly<Record<string, string>> = { BTC: 'XBT', DOGE: 'XDG' };

export interface KrakenOptions {
  /** globalThis.fetch in production; a recorded-response stub in tests. */
  fetch: FetchLike;
  baseUrl?: string;
  /** Symbol -> Kraken asset name, merged over KRAKEN_DEFAULT_ASSETS. */
  assets?: Readonly<Record<string, string>>;
  now?: Clock;
}

/**
 * Kraken's public Ticker: GET /0/public/Ticker?pair=XBTUSD answers
 * {"error":[],"result":{"XXBTZUSD":{"a":[...],"b":[...],"c":["65000.10000","0.001"],...}}}, with
 * the result keyed by Kraken's canonical pair name (not always the one asked for). `c[0]`, the
 * last trade price, is the rate. Prices are strings already. The ticker carries no timestamp, so
 * `at` is when it was asked.
 */
export class KrakenProvider implements RateProvider {
  readonly name = 'kraken';
  private readonly baseUrl: string;
  private readonly assets: Readonly<Record<string, string>>;
  private readonly now: Clock;

  constructor(private readonly options: KrakenOptions) {
    this.baseUrl = (options.baseUrl ?? 'https://api.kraken.com/0/public').replace(/\/+$/, '');
    this.assets = { ...KRAKEN_DEFAULT_ASSETS, ...options.assets };
    this.now = options.now ?? systemClock;
  }

  async getRate(coinSymbol: string, fiat: string, signal?: AbortSignal): Promise<RateQuote> {
    const coin = coinSymbol.toUpperCase();
    const pair = `${this.assets[coin] ?? coin}${fiat.toUpperCase()}`;
    const at = this.now();
    const body = await getText(this.options.fetch, this.name, `${this.baseUrl}/Ticker?pair=${encodeURIComponent(pair)}`, {}, signal);

    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch (err) {
      throw new RateUnavailableError(`${this.name}: unreadable response`, [], { cause: err });
    }
    const { error, result } = (parsed ?? {}) as { error?: unknown; result?: unknown };
    if (Array.isArray(error) && error.length > 0) throw new RateUnavailableError(`${this.name}: ${error.map(String).join('; ').slice(0, 200)}`);
    const tickers = result && typeof result === 'object' ? Object.values(result as Record<string, unknown>) : [];
    // One pair was asked for; more than one answer means the response is not what we think it is.
    if (tickers.length !== 1) throw new RateUnavailableError(`${this.name}: expected one ticker for ${pair}, got ${tickers.length}`);
    const last = (tickers[0] as { c?: unknown } | null)?.c;
    if (!Array.isArray(last) || typeof last[0] !== 'string') throw new RateUnavailableError(`${this.name}: no last trade price for ${pair}`);
    return { rate: normalizeRate(last[0], this.name), at, source: this.name };
  }
}
