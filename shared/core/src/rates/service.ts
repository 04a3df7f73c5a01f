import { normalizeRate } from './decimal';
import { RateUnavailableError, systemClock, type Clock, type RateAttempt, type RateProvider, type RateQuote } from './provider';

export interface RatePeg {
  /** e.g. "USDT" */
  coin: string;
  /** e.g. "USD" */
  fiat: string;
}

export interface RateServiceOptions {
  /** Asked in order; the next one is tried when one fails, times out or answers a stale rate. */
  providers: readonly RateProvider[];
  /** How long a fetched quote is reused. Short: a payment locks the rate, so this only spares providers from bursts. */
  cacheTtlMs?: number;
  /** A quote whose `at` is older than this is refused, cached or not: a frozen feed must not price payments. */
  maxAgeMs?: number;
  /** Per provider attempt. */
  timeoutMs?: number;
  /**
   * Coin/fiat pairs priced at exactly "1" without asking anyone (USDT/USD, USDC/USD). Off unless
   * listed: a peg is a business decision, and a de-pegged coin would otherwise be sold at par.
   */
  pegs?: readonly RatePeg[];
  now?: Clock;
}

export const RATE_SERVICE_DEFAULTS = { cacheTtlMs: 30_000, maxAgeMs: 10 * 60_000, timeoutMs: 5_000 } as const;

const COIN = /^[A-Z0-9]{1,16}$/;
const FIAT = /^[A-Z]{3}$/;

interface CacheEntry {
  quote: RateQuote;
  storedAt: number;
}

/**
 * The one way the system gets a rate: providers behind a fallback chain, a short cache, a
 * staleness limit and optional stablecoin pegs. Read-only; holds no state but the cache, so any
 * number of replicas may run it.
 */
export class RateService {
  private readonly providers: readonly RateProvider[];
  private readonly cacheTtlMs: number;
  private readonly maxAgeMs: number;
  private readonly timeoutMs: number;
  private readonly pegs: ReadonlySet<string>;
  private readonly now: Clock;
  private readonly cache = new Map<string, CacheEntry>();
  // Concurrent payments for one pair share one request instead of each hitting the providers.
  private readonly inFlight = new Map<string, Promise<RateQuote>>();

  constructor(options: RateServiceOptions) {
    this.providers = [...options.providers];
    this.cacheTtlMs = options.cacheTtlMs ?? RATE_SERVICE_DEFAULTS.cacheTtlMs;
    this.maxAgeMs = options.maxAgeMs ?? RATE_SERVICE_DEFAULTS.maxAgeMs;
    this.timeoutMs = options.timeoutMs ?? RATE_SERVICE_DEFAULTS.timeoutMs;
    for (const [name, v] of [
      ['cacheTtlMs', this.cacheTtlMs],
      ['maxAgeMs', this.maxAgeMs],
      ['timeoutMs', this.timeoutMs],
    ] as const) {
      if (!Number.isInteger(v) || v < 0) throw new RangeError(`${name} must be a non-negative integer, got ${v}`);
    }
    if (this.timeoutMs === 0) throw new RangeError('timeoutMs must be greater than zero');
    this.pegs = new Set((options.pegs ?? []).map((p) => `${p.coin.toUpperCase()}/${p.fiat.toUpperCase()}`));
    this.now = options.now ?? systemClock;
  }

  /**
   * Fiat per 1 coin for a payment being created from a fiat price. Throws RateUnavailableError
   * (with every provider's reason) when no provider gives a fresh, well-formed rate, and
   * RangeError for symbols that cannot be a coin or an ISO 4217 code.
   */
  async getRate(coinSymbol: string, fiat: string): Promise<RateQuote> {
    const coin = coinSymbol.toUpperCase();
    const currency = fiat.toUpperCase();
    if (!COIN.test(coin)) throw new RangeError(`coin symbol must be 1-16 letters or digits, got ${JSON.stringify(coinSymbol)}`);
    if (!FIAT.test(currency)) throw new RangeError(`fiat must be a three-letter ISO 4217 code, got ${JSON.stringify(fiat)}`);
    const key = `${coin}/${currency}`;
    if (this.pegs.has(key)) return { rate: '1', at: this.now(), source: 'peg' };

    const cached = this.cache.get(key);
    if (cached && this.isFresh(cached)) return cached.quote;
    this.cache.delete(key);

    const pending = this.inFlight.get(key);
    if (pending) return pending;
    const request = this.fetchFromChain(coin, currency).finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, request);
    const quote = await request;
    this.cache.set(key, { quote, storedAt: this.now().getTime() });
    return quote;
  }

  private isFresh(entry: CacheEntry): boolean {
    const now = this.now().getTime();
    return now - entry.storedAt < this.cacheTtlMs && now - entry.quote.at.getTime() <= this.maxAgeMs;
  }

  private async fetchFromChain(coin: string, fiat: string): Promise<RateQuote> {
    const attempts: RateAttempt[] = [];
    for (const provider of this.providers) {
      try {
        const quote = await this.withTimeout(provider, coin, fiat);
        return this.checked(provider, quote);
      } catch (err) {
        attempts.push({ provider: provider.name, reason: err instanceof Error ? err.message : String(err) });
      }
    }
    const detail = attempts.length ? attempts.map((a) => `${a.provider}: ${a.reason}`).join('; ') : 'no providers configured';
    throw new RateUnavailableError(`no rate for ${coin}/${fiat} (${detail})`, attempts);
  }

  // Providers are only trusted to answer; the shape and age of what they answer is checked here.
  private checked(provider: RateProvider, quote: RateQuote): RateQuote {
    if (!quote || !(quote.at instanceof Date) || Number.isNaN(quote.at.getTime())) throw new RateUnavailableError('answered without a valid time');
    const rate = normalizeRate(quote.rate, provider.name);
    const age = this.now().getTime() - quote.at.getTime();
    if (age > this.maxAgeMs) throw new RateUnavailableError(`rate is stale (${Math.round(age / 1000)}s old, limit ${Math.round(this.maxAgeMs / 1000)}s)`);
    return { rate, at: quote.at, source: quote.source || provider.name };
  }

  private withTimeout(provider: RateProvider, coin: string, fiat: string): Promise<RateQuote> {
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        controller.abort();
        reject(new RateUnavailableError(`timed out after ${this.timeoutMs}ms`));
      }, this.timeoutMs);
    });
    // A provider that ignores the signal is abandoned, not awaited: the race settles on the timer.
    return Promise.race([Promise.resolve().then(() => provider.getRate(coin, fiat, controller.signal)), timeout]).finally(() => clearTimeout(timer));
  }
}
