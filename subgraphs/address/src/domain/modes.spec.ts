import { Catalogue } from './catalogue';
import { derivationAccount, normaliseLabel, servedByUserAddress, servedByWallet } from './modes';

const withEthereum = new Catalogue({ CHAIN_RPC_ETHEREUM: 'http://127.0.0.1:1', CHAIN_RPC_POLYGON: 'http://127.0.0.1:2' });
const devOnly = new Catalogue({});
const net = (c: Catalogue, id: string) => c.network(id)!;
const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return (err as { extensions?: { code?: string } }).extensions?.code;
  }
  return undefined;
};

describe('coins served by a USER address', () => {
  it('SINGLE serves the one coin asked for and needs it', () => {
    expect(servedByUserAddress(devOnly.list(), net(devOnly, 'dev-evm'), 'SINGLE', 'dev-evm:USDT')).toEqual({
      mode: 'SINGLE',
      networks: ['dev-evm'],
      coins: ['dev-evm:USDT'],
    });
    expect(code(() => servedByUserAddress(devOnly.list(), net(devOnly, 'dev-evm'), 'SINGLE'))).toBe('BAD_USER_INPUT');
  });

  it('a coin of another network is refused in every mode', () => {
    for (const mode of ['SINGLE', 'COMMON', 'CROSS'] as const) {
      expect(code(() => servedByUserAddress(devOnly.list(), net(devOnly, 'dev-evm'), mode, 'dev-ltc:LTC'))).toBe('BAD_USER_INPUT');
    }
  });

  it('COMMON serves every coin of the network, whatever coin was named', () => {
    expect(servedByUserAddress(devOnly.list(), net(devOnly, 'dev-evm'), 'COMMON', 'dev-evm:USDT')).toEqual({
      mode: 'COMMON',
      networks: ['dev-evm'],
      coins: ['dev-evm:ETH', 'dev-evm:USDT'],
    });
  });

  it('CROSS on EVM serves every coin of every enabled EVM network, and nothing of disabled ones', () => {
    const s = servedByUserAddress(withEthereum.list(), net(withEthereum, 'dev-evm'), 'CROSS');
    expect(s.mode).toBe('CROSS');
    expect(s.networks.sort()).toEqual(['dev-evm', 'ethereum', 'polygon']);
    expect(s.coins).toEqual(expect.arrayContaining(['dev-evm:ETH', 'dev-evm:USDT', 'ethereum:ETH', 'ethereum:USDC', 'polygon:POL']));
    expect(s.coins.some((c) => c.startsWith('bsc:'))).toBe(false);
    expect(s.coins.some((c) => c.startsWith('dev-ltc:'))).toBe(false);
  });

  it('CROSS on a non-EVM network is COMMON', () => {
    expect(servedByUserAddress(devOnly.list(), net(devOnly, 'dev-ltc'), 'CROSS')).toEqual({ mode: 'COMMON', networks: ['dev-ltc'], coins: ['dev-ltc:LTC'] });
  });

  it('wallet addresses serve their whole network', () => {
    expect(servedByWallet(net(devOnly, 'dev-evm')).coins).toEqual(['dev-evm:ETH', 'dev-evm:USDT']);
    expect(code(() => servedByWallet(net(devOnly, 'dev-evm'), 'bitcoin:BTC'))).toBe('BAD_USER_INPUT');
  });
});

describe('derivation accounts', () => {
  it('every EVM network shares one account; Bitcoin-family accounts follow the coin type', () => {
    const ids = ['ethereum', 'bsc', 'polygon', 'arbitrum', 'dev-evm'].map((id) => derivationAccount(net(devOnly, id)));
    expect(new Set(ids).size).toBe(1);
    expect(derivationAccount(net(devOnly, 'bitcoin'))).not.toBe(derivationAccount(net(devOnly, 'litecoin')));
    expect(derivationAccount(net(devOnly, 'tron'))).not.toBe(ids[0]);
  });
});

describe('labels', () => {
  it('are trimmed, blank is none, long is refused', () => {
    expect(normaliseLabel('  shop  ')).toBe('shop');
    expect(normaliseLabel('   ')).toBeNull();
    expect(normaliseLabel(undefined)).toBeNull();
    expect(code(() => normaliseLabel('x'.repeat(101)))).toBe('BAD_USER_INPUT');
  });
});
