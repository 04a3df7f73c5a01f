import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Checkout tokens. The database keeps only sha256(token), so a leaked table opens no checkout;
 * yet checkoutUrl is readable for the payment's whole life. The token is therefore a MAC, under a
 * key only the service holds, over the payment id and 128 random bits stored with the payment:
 * recomputable by the service, unguessable without the key, and never stored itself.
 */
export const TOKEN_SALT_BYTES = 16;

export function checkoutKey(serviceSecret: string): Buffer {
  return createHmac('sha256', serviceSecret).update('cpg/payment/checkout-token/v1').digest();
}

export function newTokenSalt(): string {
  return randomBytes(TOKEN_SALT_BYTES).toString('hex');
}

export function checkoutToken(key: Buffer, paymentId: string, salt: string): string {
  return createHmac('sha256', key).update(`${paymentId}:${salt}`).digest('base64url');
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Only strings shaped like our tokens are hashed and looked up; anything else is no payment. */
export function isTokenShaped(token: string): boolean {
  return typeof token === 'string' && /^[A-Za-z0-9_-]{43}$/.test(token);
}

export function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && timingSafeEqual(x, y);
}
