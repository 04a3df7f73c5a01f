import { CoinGeckoProvider } from './coingecko';
import { stubFetch } from './fetch-stub';
import { RateUnavailableError } from './provider';

// Response bodies are written by hand from CoinGecko's documented /simple/price format.
const NOW = new Date('2026-01-01T00:00:00Z');

describe('CoinGeckoProvider', () => {
  it('asks /simple/price for the mapped id and keeps every digit of the price', async () => {
    const { fetch, calls } = stubFetch(() => ({ body: '{"bitcoin":{"usd":67187.33581234567890123,"last_updated_at":1767225540}}' }));
    const quote = await new CoinGeckoProvider({ fetch, now: () => NOW }).getRate('BTC', 'USD');
    expect(quote).toEqual({ rate: '67187.33581234567890123', at: new Date(1767225540 * 1000), source: 'coingecko' });
    expect(calls).toHaveLength(1);
    const url = new URL(calls[0].url);
    expect(url.origin + url.pathname).toBe('https://api.coingecko.com/api/v3/simple/price');
    expect(url.searchParams.get('ids')).toBe('bitcoin');
    expect(url.searchParams.get('vs_currencies')).toBe('usd');
    expect(url.searchParams.get('include_last_updated_at')).toBe('true');
    expect(calls[0].headers.accept).toBe('application/json');
  });

  it('turns exponent-form prices into plain decimals', async () => {
    const { fetch } = stubFetch(() => ({ body: '{"dogecoin":{"eur":1.2345e-1}}' }));
    await expect(new CoinGeckoProvider({ fetch, now: () => NOW }).getRate('DOGE', 'EUR')).resolves.toEqual({ rate: '0.12345', at: NOW, source: 'coingecko' });
  });

  it('uses the time of asking when the response has no last_updated_at', async () => {
    const { fetch } = stubFetch(() => ({ body: '{"tether":{"usd":1.0001}}' }));
    await expect(new CoinGeckoProvider({ fetch, now: () => NOW }).getRate('usdt', 'usd')).resolves.toMatchObject({ rate: '1.0001', at: NOW });
  });

  it('sends the API key in the configured header and honours a custom base URL and id map', async () => {
    const { fetch, calls } = stubFetch(() => ({ body: '{"my-coin":{"usd":2}}' }));
    const p = new CoinGeckoProvider({
      fetch,
      baseUrl: 'https://pro-api.coingecko.com/api/v3/',
      apiKey: 'k',
      apiKeyHeader: 'x-cg-pro-api-key',
      coinIds: { MINE: 'my-coin' },
    });
    await p.getRate('MINE', 'USD');
    expect(calls[0].url.startsWith('https://pro-api.coingecko.com/api/v3/simple/price?ids=my-coin&')).toBe(true);
    expect(calls[0].headers['x-cg-pro-api-key']).toBe('k');
  });

  it('refuses a coin it has no id for without asking', async () => {
    const { fetch, calls } = stubFetch(() => ({ body: '{}' }));
    await expect(new CoinGeckoProvider({ fetch }).getRate('NOPE', 'USD')).rejects.toThrow(RateUnavailableError);
    expect(calls).toHaveLength(0);
  });

  it.each<[string, { status?: number; body: string } | Error]>([
    ['an unknown pair (empty object)', { body: '{}' }],
    ['an unknown fiat', { body: '{"bitcoin":{}}' }],
    ['a price as a string', { body: '{"bitcoin":{"usd":"67187"}}' }],
    ['a null price', { body: '{"bitcoin":{"usd":null}}' }],
    ['a zero price', { body: '{"bitcoin":{"usd":0}}' }],
    ['a negative price', { body: '{"bitcoin":{"usd":-1}}' }],
    ['rate limiting', { status: 429, body: '{"status":{"error_code":429,"error_message":"You\'ve exceeded the Rate Limit."}}' }],
    ['a server error', { status: 503, body: '<html>down</html>' }],
    ['garbage', { body: 'not json' }],
    ['a transport failure', new Error('ECONNREFUSED')],
  ])('refuses %s with RateUnavailableError', async (_label, response) => {
    const { fetch } = stubFetch(() => response);
    await expect(new CoinGeckoProvider({ fetch }).getRate('BTC', 'USD')).rejects.toThrow(RateUnavailableError);
  });

  it('passes the abort signal to fetch', async () => {
    const { fetch, calls } = stubFetch(() => ({ body: '{"bitcoin":{"usd":1}}' }));
    const controller = new AbortController();
    await new CoinGeckoProvider({ fetch }).getRate('BTC', 'USD', controller.signal);
    expect(calls[0].signal).toBe(controller.signal);
  });
});
