import { stubFetch } from './fetch-stub';
import { KrakenProvider } from './kraken';
import { RateUnavailableError } from './provider';

// Response bodies are written by hand from Kraken's documented public Ticker format.
const NOW = new Date('2026-01-01T00:00:00Z');
const ticker = (key: string, last: string) =>
  JSON.stringify({
    error: [],
    result: {
      [key]: {
        a: ['65000.20000', '1', '1.000'],
        b: ['65000.10000', '2', '2.000'],
        c: [last, '0.00100000'],
        v: ['100.1', '2000.2'],
        p: ['64900.1', '64800.2'],
        t: [1000, 20000],
        l: ['64000.0', '63000.0'],
        h: ['66000.0', '67000.0'],
        o: '64500.00000',
      },
    },
  });

describe('KrakenProvider', () => {
  it('asks the Ticker for Kraken pair names and takes the last trade price', async () => {
    const { fetch, calls } = stubFetch(() => ({ body: ticker('XXBTZUSD', '65000.10000') }));
    await expect(new KrakenProvider({ fetch, now: () => NOW }).getRate('BTC', 'USD')).resolves.toEqual({ rate: '65000.1', at: NOW, source: 'kraken' });
    expect(calls[0].url).toBe('https://api.kraken.com/0/public/Ticker?pair=XBTUSD');
  });

  it('uses the symbol itself when there is no Kraken alias', async () => {
    const { fetch, calls } = stubFetch(() => ({ body: ticker('USDTZUSD', '0.99985000') }));
    await expect(new KrakenProvider({ fetch, now: () => NOW }).getRate('usdt', 'usd')).resolves.toMatchObject({ rate: '0.99985' });
    expect(calls[0].url).toBe('https://api.kraken.com/0/public/Ticker?pair=USDTUSD');
  });

  it('honours custom asset names and base URL', async () => {
    const { fetch, calls } = stubFetch(() => ({ body: ticker('XETHZEUR', '3000') }));
    await new KrakenProvider({ fetch, baseUrl: 'https://example.test/0/public/', assets: { WETH: 'ETH' } }).getRate('WETH', 'EUR');
    expect(calls[0].url).toBe('https://example.test/0/public/Ticker?pair=ETHEUR');
  });

  it.each<[string, { status?: number; body: string } | Error]>([
    ['an unknown pair', { body: '{"error":["EQuery:Unknown asset pair"]}' }],
    ['an error with a result', { body: '{"error":["EService:Unavailable"],"result":{}}' }],
    ['no result', { body: '{"error":[]}' }],
    ['two tickers', { body: JSON.stringify({ error: [], result: { A: { c: ['1', '1'] }, B: { c: ['2', '1'] } } }) }],
    ['no last trade', { body: JSON.stringify({ error: [], result: { XXBTZUSD: { a: ['1', '1', '1'] } } }) }],
    ['a numeric price', { body: JSON.stringify({ error: [], result: { XXBTZUSD: { c: [65000, '1'] } } }) }],
    ['a zero price', { body: ticker('XXBTZUSD', '0.00000') }],
    ['a server error', { status: 520, body: 'oops' }],
    ['garbage', { body: '<html>' }],
    ['null', { body: 'null' }],
    ['a transport failure', new Error('socket hang up')],
  ])('refuses %s with RateUnavailableError', async (_label, response) => {
    const { fetch } = stubFetch(() => response);
    await expect(new KrakenProvider({ fetch }).getRate('BTC', 'USD')).rejects.toThrow(RateUnavailableError);
  });
});
