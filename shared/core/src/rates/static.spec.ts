import { RateUnavailableError } from './provider';
import { StaticRateProvider } from './static';

const AT = new Date('2026-01-01T00:00:00Z');

describe('StaticRateProvider (dev and tests only)', () => {
  const provider = new StaticRateProvider({ 'ETH/USD': '3000.50', 'ltc/eur': '70' }, { now: () => AT });

  it('answers configured pairs, case-insensitively, in canonical form', async () => {
    await expect(provider.getRate('ETH', 'USD')).resolves.toEqual({ rate: '3000.5', at: AT, source: 'static' });
    await expect(provider.getRate('ltc', 'eur')).resolves.toEqual({ rate: '70', at: AT, source: 'static' });
  });

  it('refuses pairs it does not have', async () => {
    await expect(provider.getRate('BTC', 'USD')).rejects.toThrow(RateUnavailableError);
    await expect(provider.getRate('ETH', 'EUR')).rejects.toThrow(/no rate configured for ETH\/EUR/);
  });

  it('refuses a bad table when built, so config mistakes stop the start', () => {
    expect(() => new StaticRateProvider({ 'ETH/USD': '0' })).toThrow();
    expect(() => new StaticRateProvider({ 'ETH/USD': 'abc' })).toThrow();
    expect(() => new StaticRateProvider({ ETHUSD: '1' })).toThrow(/COIN\/FIAT/);
    expect(() => new StaticRateProvider({ 'ETH/USD/X': '1' })).toThrow(/COIN\/FIAT/);
  });

  it('takes a name, so several tables can sit in one chain', async () => {
    const named = new StaticRateProvider({ 'BTC/USD': '1' }, { name: 'fixture', now: () => AT });
    expect(named.name).toBe('fixture');
    await expect(named.getRate('BTC', 'USD')).resolves.toMatchObject({ source: 'fixture' });
  });
});
