import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { apiKeyProof } from '@cpg/core/graphql';

/**
 * New API keys (`cpg_<prefix>_<secret>`, shape and proof in shared/graphql/api-key-proof). A row
 * keeps only sha256 of the key's proof: the key is never stored, and the table alone cannot answer
 * a verification request. With 256 random bits a slow hash would add nothing.
 */
const PREFIX_ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

export interface NewApiKeySecret {
  prefix: string;
  secret: string;
  proofHash: string;
}

export function generateApiKeySecret(random: (n: number) => Buffer = randomBytes): NewApiKeySecret {
  const prefix = Array.from(random(8), (b) => PREFIX_ALPHABET[b & 31]).join('');
  const secret = `cpg_${prefix}_${random(32).toString('base64url')}`;
  return { prefix, secret, proofHash: hashApiKeyProof(apiKeyProof(secret)) };
}

export function hashApiKeyProof(proof: string): string {
  return createHash('sha256').update(Buffer.from(proof, 'hex')).digest('hex');
}

export function proofMatches(proof: string, storedProofHash: string): boolean {
  const a = Buffer.from(hashApiKeyProof(proof), 'hex');
  const b = Buffer.from(storedProofHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}
