import { checkoutKey, checkoutToken, hashToken, isTokenShaped, newTokenSalt } from './checkout-token';
import { decodeCursor, encodeCursor } from './cursor';

describe('checkout token', () => {
  const key = checkoutKey('a-service-secret-of-enough-length');
  it('is recomputable from the payment id and salt, and differs per salt and key', () => {
    const salt = newTokenSalt();
    expect(salt).toMatch(/^[0-9a-f]{32}$/);
    const t = checkoutToken(key, 'p1', salt);
    expect(isTokenShaped(t)).toBe(true);
    expect(checkoutToken(key, 'p1', salt)).toBe(t);
    expect(checkoutToken(key, 'p1', newTokenSalt())).not.toBe(t);
    expect(checkoutToken(checkoutKey('another-secret-of-enough-length'), 'p1', salt)).not.toBe(t);
    expect(hashToken(t)).toMatch(/^[0-9a-f]{64}$/);
    expect(isTokenShaped('nope')).toBe(false);
  });
});

describe('payments cursor', () => {
  it('round-trips and refuses garbage', () => {
    const pos = { createdAt: new Date('2026-01-02T03:04:05.678Z'), id: '0b7e6f1c-2f55-4a36-9d89-8f2f3b3d7a10' };
    expect(decodeCursor(encodeCursor(pos))).toEqual(pos);
    expect(() => decodeCursor('garbage')).toThrow();
  });
});
