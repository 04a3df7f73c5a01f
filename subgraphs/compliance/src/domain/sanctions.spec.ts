import path from 'node:path';
import { loadSanctions } from '../services/sanctions-store';
import { addressKey } from './address';
import { SanctionsList } from './sanctions';

const DIR = path.resolve(__dirname, '..', '..', '..', '..', 'shared', 'fixtures', 'sanctions', 'brave-intl_2025-11-19');

describe('SanctionsList', () => {
  const list = new SanctionsList(
    {
      ETH: ['0x04DBA1194ee10112fE6C3207C0687DEf0e78baCf'],
      USDT: ['0x7F367cC41522cE07553e823bf3be79A889DEbe1B', 'TXUYPWwFn7p6Hhtm1GqEzQxVrjZDeNWGG4', '1KUUJPkyDhamZXgpsyXqNGc3x1QPXtdhgz'],
      TRX: ['TJx6nVa1Xpr7A3hMFhrwcMuLnPBLcvZjBx'],
      XBT: ['bc1qmxjefnuy06v345v6vhwpwt05dztztmx4g3y7wp'],
      LTC: ['LNwgtMxcKUQ51dw7bQL1yPQjBVZh6QEqsd'],
    },
    { date: '2025-11-19', source: 'test' },
  );
  it('EVM: any 0x entry, any case, on every EVM network', () => {
    expect(list.lookup('EVM', 'ETH', '0x04dba1194ee10112fe6c3207c0687def0e78bacf')).toEqual({ assets: ['ETH'], listDate: '2025-11-19' });
    expect(list.lookup('EVM', 'BNB', '0x7f367cc41522ce07553e823bf3be79a889debe1b')?.assets).toEqual(['USDT']);
    expect(list.lookup('EVM', 'ETH', '0x0000000000000000000000000000000000000001')).toBeNull();
  });
  it('Tron: TRX and the TRC-20 entries of USDT', () => {
    expect(list.lookup('TRON', 'TRX', 'TJx6nVa1Xpr7A3hMFhrwcMuLnPBLcvZjBx')).not.toBeNull();
    expect(list.lookup('TRON', 'TRX', 'TXUYPWwFn7p6Hhtm1GqEzQxVrjZDeNWGG4')).not.toBeNull();
    // base58 is case-sensitive
    expect(list.lookup('TRON', 'TRX', 'txuypwwfn7p6hhtm1gqezqxvrjzdenwgg4')).toBeNull();
  });
  it('Bitcoin family: the network coin asset; bech32 in any case', () => {
    expect(list.lookup('BITCOIN', 'BTC', 'BC1QMXJEFNUY06V345V6VHWPWT05DZTZTMX4G3Y7WP')).not.toBeNull();
    expect(list.lookup('BITCOIN', 'BTC', '1KUUJPkyDhamZXgpsyXqNGc3x1QPXtdhgz')).not.toBeNull();
    expect(list.lookup('BITCOIN', 'LTC', 'LNwgtMxcKUQ51dw7bQL1yPQjBVZh6QEqsd')).not.toBeNull();
    expect(list.lookup('BITCOIN', 'LTC', 'bc1qmxjefnuy06v345v6vhwpwt05dztztmx4g3y7wp')).toBeNull();
  });
  it('address keys', () => {
    expect(addressKey('0xAbC0000000000000000000000000000000000000')).toBe('0xabc0000000000000000000000000000000000000');
    expect(addressKey('TJx6nVa1Xpr7A3hMFhrwcMuLnPBLcvZjBx')).toBe('TJx6nVa1Xpr7A3hMFhrwcMuLnPBLcvZjBx');
  });
});

describe('the shipped list', () => {
  it('loads with its date and finds a real listed ETH address', async () => {
    const list = await loadSanctions(DIR);
    expect(list.meta.date).toBe('2025-11-19');
    expect(list.size).toBeGreaterThan(700);
    expect(list.lookup('EVM', 'ETH', '0x04DBA1194ee10112fE6C3207C0687DEf0e78baCf')).not.toBeNull();
  });
});
