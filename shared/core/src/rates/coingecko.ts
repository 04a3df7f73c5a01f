import { JsonNumber, isJsonObject, normalizeRate, parseJsonExact, type JsonValue } from './decimal';
import { getText } from './http';
import { RateUnavailableError, systemClock, type Clock, type FetchLike, type RateProvider, type RateQuote } from './provider';

/** CoinGecko names coins by id, not symbol; symbols are ambiguous there, so the map is explicit. */
export const COINGECKO_DEFAULT_IDS: Readonly<Record<string, string>> = {
  BTC: 'bitcoin',
  ETH: 'ethereum',
  LTC: 'litecoin',
  USDT: 'tether',
  USDC: 'usd-coin',
  TRX: 'tron',
  BNB: 'binancecoin',
  DOGE: 'dogecoin',
  BCH: 'bitcoin-cash',
  POL: 'polygon-ecosystem-token',
};

export interface CoinGeckoOptions {
  /** globalThis.fetch in production; a recorded-response stub in tests. */
  fetch: FetchLike;
  /** Public API by default; the paid plan uses https://pro-api.coingecko.com/api/v3. */
  baseUrl?: string;
  apiKey?: string;
  /** Demo keys go in x-cg-demo-api-key, paid ones in x-cg-pro-api-key. */
  apiKeyHeader?: 'x-cg-demo-api-key' | 'x-cg-pro-api-key';
  /** Symbol -> CoinGecko id, merged over COINGECKO_DEFAULT_IDS. */
  coinIds?: Readonly<Record<string, string>>;
  now?: Clock;
}

/**
 * CoinGecko's /simple/price: GET ?ids=bitcoin&vs_currencies=usd&include_last_updated_at=true
 * answers {"bitcoin":{"usd":67187.3358,"last_updated_at":1711356300}}. The price is a JSON number,
 * so the body is parsed with parseJsonExact to keep its digits.
 */
export class CoinGeckoProvider implements RateProvider {
  readonly name = 'coingecko';
  private readonly baseUrl: string;
  private readonly ids: Readonly<Record<string, string>>;
  private readonly now: Clock;

  constructor(private readonly options: CoinGeckoOptions) {
    this.baseUrl = (options.baseUrl ?? 'https://api.coingecko.com/api/v3').replace(/\/+$/, '');
    this.ids = { ...COINGECKO_DEFAULT_IDS, ...options.coinIds };
    this.now = options.now ?? systemClock;
  }

  async getRate(coinSymbol: string, fiat: string, signal?: AbortSignal): Promise<RateQuote> {
    const id = this.ids[coinSymbol.toUpperCase()];
    if (!id) throw new RateUnavailableError(`${this.name}: no CoinGecko id configured for ${coinSymbol}`);
    const vs = fiat.toLowerCase();
    const url =
      `${this.baseUrl}/simple/price?ids=${encodeURIComponent(id)}&vs_currencies=${encodeURIComponent(vs)}` + '&include_last_updated_at=true&precision=full';
    const headers: Record<string, string> = this.options.apiKey ? { [this.options.apiKeyHeader ?? 'x-cg-demo-api-key']: this.options.apiKey } : {};
    const body = await getText(this.options.fetch, this.name, url, headers, signal);

    let parsed: JsonValue;
    try {
      parsed = parseJsonExact(body);
    } catch (err) {
      throw new RateUnavailableError(`${this.name}: unreadable response`, [], { cause: err });
    }
    const entry = isJsonObject(parsed) ? parsed[id] : undefined;
    const price = isJsonObject(entry) ? entry[vs] : undefined;
    if (!(price instanceof JsonNumber)) throw new RateUnavailableError(`${this.name}: no ${id}/${vs} price in response`);
    const rate = normalizeRate(price.text, this.name);
    const updated = isJsonObject(entry) ? entry.last_updated_at : undefined;
    return {
      rate,
      at: updated instanceof JsonNumber && /^[0-9]{1,12}$/.test(updated.text) ? new Date(Number(updated.text) * 1000) : this.now(),
      source: this.name,
    };
  }
}
