import { Catalogue } from './catalogue';

describe('Catalogue', () => {
  const cat = new Catalogue({});

  it('lists mainnets off until their RPC endpoints are configured, dev chains on', () => {
    const byId = Object.fromEntries(cat.list().map((n) => [n.id, n.enabled]));
    expect(byId).toMatchObject({ bitcoin: false, ethereum: false, tron: false, 'dev-evm': true, 'dev-ltc': true });
    const withRpc = new Catalogue({ CHAIN_RPC_ETHEREUM: 'https://rpc.example' });
    expect(withRpc.network('ethereum')!.enabled).toBe(true);
  });

  it('finds coins by id with their network', () => {
    expect(cat.coin('dev-evm:USDT')).toMatchObject({ coin: { decimals: 6, symbol: 'USDT' }, network: { id: 'dev-evm', chainId: 31337 } });
    expect(cat.coin('ethereum:DOGE')).toBeUndefined();
  });

  it('validates with the family codec and names the problem', () => {
    expect(cat.validate('ethereum', '0x52908400098527886e0f7030069857d2e4169ee7')).toEqual(
      expect.objectContaining({ valid: true, normalized: '0x52908400098527886E0F7030069857D2E4169EE7' }),
    );
    expect(cat.validate('ethereum', '0x52908400098527886E0F7030069857D2E4169Ee7').valid).toBe(false);
    expect(cat.validate('bitcoin', 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4')).toMatchObject({ valid: true });
    expect(cat.validate('litecoin', 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4')).toMatchObject({ valid: false });
    expect(cat.validate('tron', 'TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t')).toMatchObject({ valid: true });
    expect(cat.validate('nowhere', 'x')).toEqual({ valid: false, reason: 'unknown network nowhere' });
  });
});
