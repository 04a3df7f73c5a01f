import { getNetwork } from '@cpg/chains';
import { WatchList, watchKey } from './watchlist';

const evm = getNetwork('dev-evm');
const ltc = getNetwork('litecoin');
const tron = getNetwork('tron');

describe('watch-list normalisation', () => {
  it('compares EVM addresses case-insensitively', () => {
    expect(watchKey(evm, '0xAbCdEf0000000000000000000000000000000001')).toBe('0xabcdef0000000000000000000000000000000001');
  });

  it('lower-cases bech32 but keeps base58 as is', () => {
    expect(watchKey(ltc, 'LTC1QABC')).toBe('ltc1qabc');
    expect(watchKey(ltc, 'LbYALvpqV1zE7dEDyWwUL4aVt8WZXZFuRz')).toBe('LbYALvpqV1zE7dEDyWwUL4aVt8WZXZFuRz');
    expect(watchKey(tron, 'TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t')).toBe('TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t');
  });
});

describe('WatchList', () => {
  const a = { addressId: '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d', merchantId: '11111111-1111-4111-8111-111111111111', type: 'USER' as const };

  it('finds an address whatever its case, with its ids and type intact', () => {
    const list = new WatchList(evm);
    list.add('0xAbCdEf0000000000000000000000000000000001', a);
    expect(list.get('0xabcdef0000000000000000000000000000000001')).toEqual(a);
    expect(list.get('0xabcdef0000000000000000000000000000000002')).toBeUndefined();
  });

  it('re-adding overwrites instead of growing', () => {
    const list = new WatchList(evm);
    list.add('0x01', a);
    list.add('0x01', { ...a, type: 'HOT' });
    expect(list.size).toBe(1);
    expect(list.get('0x01')?.type).toBe('HOT');
  });

  it('keeps the first owner: another merchant for a watched address is refused', () => {
    const list = new WatchList(evm);
    expect(list.add('0xAb01', a)).toBe(true);
    const other = { ...a, addressId: '00000000-0000-4000-8000-0000000000ff', merchantId: '99999999-9999-4999-8999-999999999999' };
    expect(list.add('0xab01', other)).toBe(false);
    expect(list.get('0xAB01')).toEqual(a);
  });

  it('grows past its initial capacity', () => {
    const list = new WatchList(evm);
    for (let i = 0; i < 5000; i++) list.add(`0x${i.toString(16)}`, { ...a, addressId: `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}` });
    expect(list.size).toBe(5000);
    expect(list.get('0x1387')?.addressId).toBe('00000000-0000-4000-8000-000000001387');
    expect(list.get('0x0')?.merchantId).toBe(a.merchantId);
  });

  it('refuses an id that is not a UUID', () => {
    expect(() => new WatchList(evm).add('0x01', { ...a, addressId: 'nope' })).toThrow();
  });
});

describe('WatchList at scale', () => {
  it('finds each of 200,000 addresses and none of 10,000 others', () => {
    const list = new WatchList(evm);
    const addr = (i: number) => `0x${i.toString(16).padStart(40, '0')}`;
    const id = (i: number) => `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;
    for (let i = 0; i < 200_000; i++)
      list.add(addr(i), { addressId: id(i), merchantId: `${i % 7}0000000-0000-4000-8000-000000000000`, type: i % 2 ? 'HOT' : 'USER' });
    expect(list.size).toBe(200_000);
    for (let i = 0; i < 200_000; i += 997)
      expect(list.get(addr(i))).toEqual({ addressId: id(i), merchantId: `${i % 7}0000000-0000-4000-8000-000000000000`, type: i % 2 ? 'HOT' : 'USER' });
    for (let i = 200_000; i < 210_000; i++) expect(list.hasKey(addr(i))).toBe(false);
  });
});
