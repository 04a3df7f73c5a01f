import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * API key secrets look like `cpg_<prefix>_<secret>`: the prefix (8 base32 chars, 40 bits) finds
 * the row and is safe to show; the secret part (32 random bytes) is what proves possession.
 * Only a sha256 of the whole string is stored: with 256 random bits a slow hash adds nothing.
 */
const PREFIX_ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';
const SHAPE = /^cpg_([a-z2-7]{8})_([A-Za-z0-9_-]{43})$/;

export interface NewApiKeySecret {
  prefix: string;
  secret: string;
  hash: string;
}

export function generateApiKeySecret(random: (n: number) => Buffer = randomBytes): NewApiKeySecret {
  const prefix = Array.from(random(8), (b) => PREFIX_ALPHABET[b & 31]).join('');
  const secret = `cpg_${prefix}_${random(32).toString('base64url')}`;
  return { prefix, secret, hash: hashApiKeySecret(secret) };
}

export function hashApiKeySecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** The prefix of a well-formed secret, or null: malformed input never reaches the database. */
export function apiKeyPrefix(secret: string): string | null {
  const m = SHAPE.exec(secret);
  return m ? m[1]! : null;
}

export function secretMatches(secret: string, storedHash: string): boolean {
  const a = Buffer.from(hashApiKeySecret(secret), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}
