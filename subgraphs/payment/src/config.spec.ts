import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError } from '@cpg/core/config';
import { RateUnavailableError } from '@cpg/core/rates';
import { buildRateService, loadPaymentConfig } from './config';

describe('payment config: the rate chain', () => {
  it('defaults to the static table with a 10 minute limit', async () => {
    const cfg = loadPaymentConfig({});
    expect(cfg.RATE_PROVIDERS).toEqual(['static']);
    expect(cfg.RATE_MAX_AGE_SECONDS).toBe(600);
    expect((await buildRateService(cfg).getRate('LTC', 'USD')).rate).toBe('80');
  });

  it('refuses unknown, repeated or no providers, naming the variable', () => {
    for (const v of ['static,bogus', 'static,static', ' , ']) {
      expect(() => loadPaymentConfig({ RATE_PROVIDERS: v })).toThrow(ConfigError);
      expect(() => loadPaymentConfig({ RATE_PROVIDERS: v })).toThrow(/RATE_PROVIDERS/);
    }
    expect(() => loadPaymentConfig({ RATE_MAX_AGE_SECONDS: '0' })).toThrow(/RATE_MAX_AGE_SECONDS/);
  });

  it('asks the providers in the listed order and falls back when one fails', async () => {
    const asked: string[] = [];
    const fetch = async (url: string) => {
      asked.push(new URL(url).host);
      throw new Error('connection refused');
    };
    const cfg = loadPaymentConfig({
      RATE_PROVIDERS: 'kraken,coingecko,static',
      KRAKEN_BASE_URL: 'http://kraken.test',
      COINGECKO_BASE_URL: 'http://gecko.test',
    });
    const quote = await buildRateService(cfg, { fetch: fetch as never }).getRate('ETH', 'USD');
    expect(quote).toMatchObject({ rate: '3000', source: 'static' });
    expect(asked).toEqual(['kraken.test', 'gecko.test']);
  });

  it('a quote older than RATE_MAX_AGE_SECONDS is refused rather than used', async () => {
    const cfg = loadPaymentConfig({ RATE_MAX_AGE_SECONDS: '60' });
    // The static table stamps quotes with the wall clock; the service judges them two minutes later.
    const later = () => new Date(Date.now() + 120_000);
    await expect(buildRateService(cfg, { now: later }).getRate('ETH', 'USD')).rejects.toThrow(RateUnavailableError);
    await expect(buildRateService(cfg, { now: later }).getRate('ETH', 'USD')).rejects.toThrow(/stale/);
  });
});

describe('payment config: the checkout-token key', () => {
  it('takes CHECKOUT_TOKEN_SECRET when set (at least 16 characters), else leaves the gateway secret to the caller', () => {
    expect(loadPaymentConfig({}).CHECKOUT_TOKEN_SECRET).toBeUndefined();
    expect(loadPaymentConfig({ CHECKOUT_TOKEN_SECRET: 'x'.repeat(32) }).CHECKOUT_TOKEN_SECRET).toBe('x'.repeat(32));
    // As a mounted secret file (docker-compose gives it to this service alone).
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'cpg-pay-')), 'checkout_token_secret');
    writeFileSync(file, `${'y'.repeat(32)}\n`);
    expect(loadPaymentConfig({ CHECKOUT_TOKEN_SECRET_FILE: file }).CHECKOUT_TOKEN_SECRET).toBe('y'.repeat(32));
    expect(() => loadPaymentConfig({ CHECKOUT_TOKEN_SECRET: 'short' })).toThrow(/CHECKOUT_TOKEN_SECRET/);
  });
});

describe('payment config: the price currencies', () => {
  it('defaults to the currencies of the static table, so a default gateway prices in USD only', () => {
    expect(loadPaymentConfig({}).priceCurrencies).toEqual(['USD']);
    expect(loadPaymentConfig({ RATES_STATIC: 'BTC:USD=65000,BTC:eur=60000,ETH:EUR=2800' }).priceCurrencies).toEqual(['EUR', 'USD']);
  });

  it('takes PRICE_CURRENCIES in any casing and refuses what is not a three-letter code', () => {
    expect(loadPaymentConfig({ PRICE_CURRENCIES: 'usd, EUR,usd' }).priceCurrencies).toEqual(['USD', 'EUR']);
    expect(() => loadPaymentConfig({ PRICE_CURRENCIES: 'USD,EURO' })).toThrow(/PRICE_CURRENCIES/);
    expect(() => loadPaymentConfig({ PRICE_CURRENCIES: ' , ' })).toThrow(/PRICE_CURRENCIES/);
  });
});
