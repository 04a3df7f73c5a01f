import { RateUnavailableError, type RateProvider, type RateQuote } from './provider';
import { RateService } from './service';
import { StaticRateProvider } from './static';

const T0 = Date.parse('2026-01-01T00:00:00Z');

/** A clock the test moves by hand. */
function clock() {
  let ms = T0;
  return { now: () => new Date(ms), advance: (d: number) => (ms += d) };
}

/** A provider scripted per call, counting calls and keeping the signals it was given. */
function scripted(name: string, answer: (coin: string, fiat: string, signal?: AbortSignal) => Promise<RateQuote>) {
  const calls: { coin: string; fiat: string; signal?: AbortSignal }[] = [];
  const provider: RateProvider = {
    name,
    getRate: (coin, fiat, signal) => {
      calls.push({ coin, fiat, signal });
      return answer(coin, fiat, signal);
    },
  };
  return { provider, calls };
}

const quote = (rate: string, at: Date, source = 'x'): RateQuote => ({ rate, at, source });

describe('RateService: provider chain', () => {
  it('answers from the first provider, in canonical form', async () => {
    const c = clock();
    const a = scripted('a', async () => quote('65000.10', c.now(), 'a'));
    const b = scripted('b', async () => quote('1', c.now(), 'b'));
    const svc = new RateService({ providers: [a.provider, b.provider], now: c.now });
    await expect(svc.getRate('BTC', 'USD')).resolves.toEqual({ rate: '65000.1', at: c.now(), source: 'a' });
    expect(a.calls).toEqual([expect.objectContaining({ coin: 'BTC', fiat: 'USD' })]);
    expect(b.calls).toHaveLength(0);
  });

  it('falls back when a provider throws', async () => {
    const c = clock();
    const a = scripted('a', async () => {
      throw new Error('boom');
    });
    const b = scripted('b', async () => quote('2', c.now(), 'b'));
    const svc = new RateService({ providers: [a.provider, b.provider], now: c.now });
    await expect(svc.getRate('ETH', 'EUR')).resolves.toMatchObject({ rate: '2', source: 'b' });
  });

  it('falls back when a provider times out, and aborts it', async () => {
    const c = clock();
    const a = scripted('slow', () => new Promise<RateQuote>(() => undefined));
    const b = scripted('b', async () => quote('3', c.now(), 'b'));
    const svc = new RateService({ providers: [a.provider, b.provider], timeoutMs: 20, now: c.now });
    await expect(svc.getRate('ETH', 'USD')).resolves.toMatchObject({ rate: '3' });
    expect(a.calls[0].signal?.aborted).toBe(true);
  });

  it.each<[string, (now: Date) => RateQuote]>([
    ['a stale quote', (now) => quote('1', new Date(now.getTime() - 10 * 60_000 - 1))],
    ['a malformed rate', (now) => quote('abc', now)],
    ['a zero rate', (now) => quote('0', now)],
    ['a negative rate', (now) => quote('-5', now)],
    ['a number for a rate', (now) => quote(5 as unknown as string, now)],
    ['an invalid date', () => quote('1', new Date('nope'))],
    ['no quote at all', () => undefined as unknown as RateQuote],
  ])('falls back on %s', async (_label, bad) => {
    const c = clock();
    const a = scripted('a', async () => bad(c.now()));
    const b = scripted('b', async () => quote('4', c.now(), 'b'));
    const svc = new RateService({ providers: [a.provider, b.provider], now: c.now });
    await expect(svc.getRate('BTC', 'USD')).resolves.toMatchObject({ rate: '4', source: 'b' });
  });

  it('accepts a quote exactly at the staleness limit', async () => {
    const c = clock();
    const a = scripted('a', async () => quote('1', new Date(c.now().getTime() - 1000)));
    const svc = new RateService({ providers: [a.provider], maxAgeMs: 1000, now: c.now });
    await expect(svc.getRate('BTC', 'USD')).resolves.toMatchObject({ rate: '1' });
  });

  it('reports every provider reason when all fail', async () => {
    const c = clock();
    const a = scripted('a', async () => {
      throw new RateUnavailableError('a: HTTP 429');
    });
    const b = scripted('b', async () => quote('1', new Date(T0 - 3_600_000)));
    const svc = new RateService({ providers: [a.provider, b.provider], now: c.now });
    const err = await svc.getRate('BTC', 'USD').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RateUnavailableError);
    expect((err as RateUnavailableError).attempts).toEqual([
      { provider: 'a', reason: 'a: HTTP 429' },
      { provider: 'b', reason: expect.stringMatching(/stale/) },
    ]);
    expect((err as Error).message).toMatch(/^no rate for BTC\/USD/);
  });

  it('refuses with RateUnavailableError when no providers are configured', async () => {
    await expect(new RateService({ providers: [] }).getRate('BTC', 'USD')).rejects.toThrow(/no providers configured/);
  });
});

describe('RateService: cache', () => {
  it('reuses a quote within the TTL and asks again after it', async () => {
    const c = clock();
    let n = 0;
    const a = scripted('a', async () => quote(String(++n), c.now()));
    const svc = new RateService({ providers: [a.provider], cacheTtlMs: 30_000, now: c.now });
    await expect(svc.getRate('BTC', 'USD')).resolves.toMatchObject({ rate: '1' });
    c.advance(29_999);
    await expect(svc.getRate('btc', 'usd')).resolves.toMatchObject({ rate: '1' });
    c.advance(1);
    await expect(svc.getRate('BTC', 'USD')).resolves.toMatchObject({ rate: '2' });
    expect(a.calls).toHaveLength(2);
  });

  it('keys the cache by pair', async () => {
    const c = clock();
    const a = scripted('a', async (coin, fiat) => quote(coin === 'BTC' ? (fiat === 'USD' ? '10' : '11') : '12', c.now()));
    const svc = new RateService({ providers: [a.provider], now: c.now });
    const rates = [await svc.getRate('BTC', 'USD'), await svc.getRate('BTC', 'EUR'), await svc.getRate('ETH', 'USD')].map((q) => q.rate);
    expect(rates).toEqual(['10', '11', '12']);
  });

  it('does not serve a cached quote past the staleness limit, even within the TTL', async () => {
    const c = clock();
    const a = scripted('a', async () => quote('1', c.now()));
    const svc = new RateService({ providers: [a.provider], cacheTtlMs: 60_000, maxAgeMs: 10_000, now: c.now });
    await svc.getRate('BTC', 'USD');
    c.advance(10_001);
    await svc.getRate('BTC', 'USD');
    expect(a.calls).toHaveLength(2);
  });

  it('caches nothing with a TTL of zero', async () => {
    const c = clock();
    const a = scripted('a', async () => quote('1', c.now()));
    const svc = new RateService({ providers: [a.provider], cacheTtlMs: 0, now: c.now });
    await svc.getRate('BTC', 'USD');
    await svc.getRate('BTC', 'USD');
    expect(a.calls).toHaveLength(2);
  });

  it('does not cache failures', async () => {
    const c = clock();
    let fail = true;
    const a = scripted('a', async () => {
      if (fail) throw new Error('down');
      return quote('7', c.now());
    });
    const svc = new RateService({ providers: [a.provider], now: c.now });
    await expect(svc.getRate('BTC', 'USD')).rejects.toThrow(RateUnavailableError);
    fail = false;
    await expect(svc.getRate('BTC', 'USD')).resolves.toMatchObject({ rate: '7' });
  });

  it('shares one request between concurrent callers', async () => {
    const c = clock();
    let release: (q: RateQuote) => void = () => undefined;
    const a = scripted('a', () => new Promise<RateQuote>((resolve) => (release = resolve)));
    const svc = new RateService({ providers: [a.provider], now: c.now });
    const both = Promise.all([svc.getRate('BTC', 'USD'), svc.getRate('BTC', 'USD')]);
    await Promise.resolve();
    await Promise.resolve();
    release(quote('9', c.now()));
    expect((await both).map((q) => q.rate)).toEqual(['9', '9']);
    expect(a.calls).toHaveLength(1);
  });
});

describe('RateService: stablecoin pegs', () => {
  it('prices a configured peg at exactly 1 without asking anyone', async () => {
    const c = clock();
    const a = scripted('a', async () => quote('0.9998', c.now()));
    const svc = new RateService({
      providers: [a.provider],
      pegs: [
        { coin: 'USDT', fiat: 'USD' },
        { coin: 'usdc', fiat: 'usd' },
      ],
      now: c.now,
    });
    await expect(svc.getRate('USDT', 'USD')).resolves.toEqual({ rate: '1', at: c.now(), source: 'peg' });
    await expect(svc.getRate('USDC', 'USD')).resolves.toMatchObject({ rate: '1', source: 'peg' });
    expect(a.calls).toHaveLength(0);
  });

  it('asks the providers for a pegged coin in another fiat', async () => {
    const c = clock();
    const a = scripted('a', async () => quote('0.92', c.now()));
    const svc = new RateService({ providers: [a.provider], pegs: [{ coin: 'USDT', fiat: 'USD' }], now: c.now });
    await expect(svc.getRate('USDT', 'EUR')).resolves.toMatchObject({ rate: '0.92' });
  });

  it('asks the providers for stablecoins when no peg is configured', async () => {
    const c = clock();
    const a = scripted('a', async () => quote('0.9998', c.now()));
    const svc = new RateService({ providers: [a.provider], now: c.now });
    await expect(svc.getRate('USDT', 'USD')).resolves.toMatchObject({ rate: '0.9998' });
  });
});

describe('RateService: inputs and options', () => {
  const svc = new RateService({ providers: [new StaticRateProvider({ 'BTC/USD': '1' })] });
  it.each([
    ['', 'USD'],
    ['B-TC', 'USD'],
    ['X'.repeat(17), 'USD'],
    ['BTC', 'US'],
    ['BTC', 'USD1'],
    ['BTC', 'U$D'],
  ])('refuses %j/%j as a programming error', async (coin, fiat) => {
    await expect(svc.getRate(coin, fiat)).rejects.toThrow(RangeError);
  });

  it.each([[{ cacheTtlMs: -1 }], [{ maxAgeMs: 1.5 }], [{ timeoutMs: 0 }], [{ timeoutMs: Number.NaN }]])('refuses options %p', (opts) => {
    expect(() => new RateService({ providers: [], ...opts })).toThrow(RangeError);
  });

  it('works with the static provider as callers test with it', async () => {
    await expect(svc.getRate('btc', 'usd')).resolves.toMatchObject({ rate: '1', source: 'static' });
    await expect(svc.getRate('ETH', 'USD')).rejects.toThrow(RateUnavailableError);
  });
});
