import { createHash } from 'node:crypto';

/**
 * API keys look like `cpg_<prefix>_<secret>`: the prefix (8 base32 chars) finds the key's row and
 * is safe to show; the rest (32 random bytes, base64url) proves possession.
 *
 * The gateway never puts a key on the bus. It asks the merchant subgraph with the prefix and a
 * proof derived from the whole key; the merchant stores only sha256(proof). So:
 * - a captured request holds no key, and the gateway accepts only the key itself, never a proof;
 * - a copy of the table holds no proof either (the proof is a preimage of what is stored);
 * - the tag keeps the proof different from any plain sha256 of the key stored elsewhere (older
 *   rows of this table held exactly that).
 * The proof is computed from sha256(key) rather than from the key so that rows which stored only
 * sha256(key) could be converted by a migration, without anyone knowing their keys.
 */
export const API_KEY_LENGTH = 56;
const API_KEY_SHAPE = /^cpg_([a-z2-7]{8})_[A-Za-z0-9_-]{43}$/;
/** Also spelled out in the merchant migration that converted stored hashes: never change it. */
export const API_KEY_PROOF_TAG = 'cpg-api-key-proof-v1:';

/** The prefix of a well-formed key, or null. Length first: no pattern ever runs on a huge input. */
export function apiKeyPrefix(key: string): string | null {
  if (key.length !== API_KEY_LENGTH) return null;
  const m = API_KEY_SHAPE.exec(key);
  return m ? m[1]! : null;
}

/** Hex proof of possession of `key`, what travels to the merchant subgraph instead of the key. */
export function apiKeyProof(key: string): string {
  const keyDigest = createHash('sha256').update(key, 'utf8').digest();
  return createHash('sha256').update(API_KEY_PROOF_TAG, 'utf8').update(keyDigest).digest('hex');
}
