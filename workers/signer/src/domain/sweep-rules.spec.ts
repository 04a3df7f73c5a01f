import { type AddressType, type Owner, type TransferFacts, consolidationRefusal, transferRefusal } from './sweep-rules';

const M = '11111111-1111-4111-8111-111111111111';
const OTHER = '22222222-2222-4222-8222-222222222222';
const own = (type: AddressType, merchantId = M, networkId = 'dev-evm'): Extract<Owner, { found: true }> => ({
  found: true,
  merchantId,
  networkId,
  type,
});
const sweep: TransferFacts = {
  merchantId: M,
  networkId: 'dev-evm',
  fromType: 'USER',
  gasForUser: false,
  from: '0xUser',
  to: '0xHot',
  source: own('USER'),
  destination: own('HOT'),
};

describe('transferRefusal', () => {
  it('lets a USER address sweep into the merchant HOT, TOKENS_COLLECTOR or (usable) COLD wallet', () => {
    for (const type of ['HOT', 'TOKENS_COLLECTOR'] as const) expect(transferRefusal({ ...sweep, destination: own(type) })).toBeNull();
    expect(transferRefusal({ ...sweep, destination: { ...own('COLD'), coldUsable: true, coldStatus: 'ACTIVE' } })).toBeNull();
  });

  it('refuses a COLD destination that is not usable yet (cooling off, under review, rejected, unknown)', () => {
    for (const coldStatus of ['COOLING_OFF', 'PENDING_REVIEW', 'REJECTED']) {
      expect(transferRefusal({ ...sweep, destination: { ...own('COLD'), coldUsable: false, coldStatus } })).toMatch(
        new RegExp(`COLD wallet not usable yet \\(${coldStatus}\\)`),
      );
    }
    expect(transferRefusal({ ...sweep, destination: own('COLD') })).toMatch(/COLD wallet not usable yet/);
    expect(
      consolidationRefusal({
        merchantId: M,
        networkId: 'dev-evm',
        sources: [{ address: 'u', owner: own('USER') }],
        destinations: [{ address: 'c', owner: own('COLD') }],
      }),
    ).toMatch(/COLD wallet not usable yet/);
  });

  it('refuses an outside address, another merchant wallet, another network, and USER to USER', () => {
    expect(transferRefusal({ ...sweep, destination: { found: false } })).toMatch(/destination 0xHot is not a registered address/);
    expect(transferRefusal({ ...sweep, destination: own('HOT', OTHER) })).toMatch(/belongs to another merchant/);
    expect(transferRefusal({ ...sweep, destination: own('HOT', M, 'ethereum') })).toMatch(/is not on dev-evm/);
    expect(transferRefusal({ ...sweep, destination: own('USER') })).toMatch(/is a USER address/);
    // Even gas: a USER address never funds another.
    expect(transferRefusal({ ...sweep, gasForUser: true, destination: own('USER') })).toMatch(/is a USER address/);
  });

  it('refuses a source that is not the merchant address of the right kind', () => {
    expect(transferRefusal({ ...sweep, source: { found: false } })).toMatch(/source 0xUser is not a registered address/);
    expect(transferRefusal({ ...sweep, source: own('USER', OTHER) })).toMatch(/another merchant/);
    expect(transferRefusal({ ...sweep, source: own('HOT') })).toMatch(/is a HOT address, not USER/);
    expect(transferRefusal({ ...sweep, fromType: 'KEY', source: own('COLD') })).toMatch(/is a COLD address/);
  });

  it('lets a wallet key send gas to the merchant own USER address, and nothing else to it', () => {
    const topUp: TransferFacts = { ...sweep, fromType: 'KEY', gasForUser: true, source: own('TOKENS_COLLECTOR'), destination: own('USER') };
    expect(transferRefusal(topUp)).toBeNull();
    expect(transferRefusal({ ...topUp, gasForUser: false })).toMatch(/is a USER address/);
    expect(transferRefusal({ ...topUp, destination: own('USER', OTHER) })).toMatch(/another merchant/);
  });
});

describe('consolidationRefusal', () => {
  const facts = {
    merchantId: M,
    networkId: 'dev-ltc',
    sources: [{ address: 'u1', owner: own('USER', M, 'dev-ltc') }],
    destinations: [{ address: 'h', owner: own('HOT', M, 'dev-ltc') }],
  };
  it('accepts the merchant USER outputs into its wallets', () => {
    expect(consolidationRefusal(facts)).toBeNull();
    expect(consolidationRefusal({ ...facts, destinations: [{ address: 'c', owner: { ...own('COLD', M, 'dev-ltc'), coldUsable: true } }] })).toBeNull();
  });

  it('refuses any outside or foreign destination, and a source that is not the merchant USER address', () => {
    expect(consolidationRefusal({ ...facts, destinations: [...facts.destinations, { address: 'x', owner: { found: false } }] })).toMatch(
      /destination x is not a registered/,
    );
    expect(consolidationRefusal({ ...facts, destinations: [{ address: 'h2', owner: own('HOT', OTHER, 'dev-ltc') }] })).toMatch(/another merchant/);
    expect(consolidationRefusal({ ...facts, sources: [{ address: 'u9', owner: { found: false } }] })).toMatch(/source u9 is not a registered/);
  });
});
