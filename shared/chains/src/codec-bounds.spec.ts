import { codecFor } from './codecs';
import { getNetwork } from './networks';
import { base58Decode, checkTronAddress } from './tron/address';
import { MAX_ADDRESS_LENGTH, MAX_XPUB_LENGTH } from './types';

// Every codec refuses an over-long input before decoding it: base58 decoding is quadratic in the
// length, so a 1 MB "address" decoded first would hold the event loop for minutes.
const huge = (ch: string) => ch.repeat(1_000_000);

describe('codecs refuse over-long input before decoding it', () => {
  it.each(['tron', 'bitcoin', 'litecoin', 'ethereum'])('%s: a 1 MB address of valid alphabet characters is invalid, with a reason', (id) => {
    const network = getNetwork(id, {});
    for (const text of [huge('T'), huge('1'), huge('q'), `0x${huge('a')}`, `bc1${huge('q')}`]) {
      const v = codecFor(network.family).validateAddress(network, text);
      expect(v.valid).toBe(false);
      expect(v.reason).toBeTruthy();
    }
  });

  it('the Tron base58 decoder itself refuses input longer than the longest address', () => {
    expect(base58Decode('2'.repeat(MAX_ADDRESS_LENGTH + 1))).toBeNull();
    expect(base58Decode('2'.repeat(10))).not.toBeNull();
    expect(checkTronAddress(huge('z'))).toEqual({ ok: false, reason: expect.stringContaining('too long') });
  });

  it('a valid address one character over the bound is refused as too long, not decoded', () => {
    const tron = getNetwork('tron', {});
    const v = codecFor('TRON').validateAddress(tron, `TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t${'1'.repeat(MAX_ADDRESS_LENGTH)}`);
    expect(v).toEqual({ valid: false, reason: expect.stringContaining('too long') });
  });

  it.each(['tron', 'bitcoin', 'ethereum'])('%s: an over-long account key is refused before base58 decoding', (id) => {
    const network = getNetwork(id, {});
    expect(() => codecFor(network.family).deriveAddress(network, `xpub${'z'.repeat(MAX_XPUB_LENGTH)}`, 0)).toThrow(/too long/);
    expect(() => codecFor(network.family).deriveAddress(network, huge('z'), 0)).toThrow(/too long/);
  });
});
