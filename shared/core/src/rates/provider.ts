/**
 * What a payment created from a fiat price needs from the outside world: how much fiat one whole
 * coin is worth. Rates are decimal strings end to end, like money: a float would already have
 * rounded the rate before pricing rounds it once more, on purpose and in the merchant's favour.
 */

export interface RateQuote {
  /** Fiat per 1 whole coin, canonical decimal string ("65000.12"), always > 0. */
  rate: string;
  /** When the source says the rate was true (or when it was asked, if the source does not say). */
  at: Date;
  /** Which provider produced it, stored with the payment for audit. */
  source: string;
}

export interface RateProvider {
  /** Short, stable name used in logs and in RateUnavailableError attempts. */
  readonly name: string;
  /**
   * Called by RateService when a payment is created from a fiat price and no cached quote is
   * fresh enough. Read-only and safe to repeat (no idempotence concern: it changes nothing).
   * `coinSymbol` is upper-case ("BTC"), `fiat` an upper-case ISO 4217 code ("USD"). Must stop
   * work when `signal` aborts (the service's timeout). Throws RateUnavailableError when it has
   * no rate for the pair or its source fails; any other throw is treated the same way.
   */
  getRate(coinSymbol: string, fiat: string, signal?: AbortSignal): Promise<RateQuote>;
}

export interface RateAttempt {
  provider: string;
  reason: string;
}

/** No provider could give a usable rate; callers turn it into an UNAVAILABLE API error. */
export class RateUnavailableError extends Error {
  readonly attempts: readonly RateAttempt[];
  constructor(message: string, attempts: readonly RateAttempt[] = [], options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RateUnavailableError';
    this.attempts = attempts;
  }
}

/**
 * The slice of fetch the HTTP providers use. Injected so production passes globalThis.fetch and
 * tests pass recorded responses: nothing here reaches the network on its own.
 */
export type FetchLike = (
  url: string,
  init?: { method?: string; headers?: Record<string, string>; signal?: AbortSignal },
) => Promise<{ ok: boolean; status: number; text(): Promise<string> }>;

/** Where providers and the service read the time, so tests control it. */
export type Clock = () => Date;
export const systemClock: Clock = () => new Date();
