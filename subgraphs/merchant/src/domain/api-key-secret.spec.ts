import { apiKeyPrefix, apiKeyProof } from '@cpg/core/graphql';
import { generateApiKeySecret, hashApiKeyProof, proofMatches } from './api-key-secret';

describe('API key secrets', () => {
  it('generates a key whose prefix and stored hash identify it', () => {
    const key = generateApiKeySecret();
    expect(key.secret).toMatch(/^cpg_[a-z2-7]{8}_[A-Za-z0-9_-]{43}$/);
    expect(apiKeyPrefix(key.secret)).toBe(key.prefix);
    expect(key.proofHash).toBe(hashApiKeyProof(apiKeyProof(key.secret)));
    expect(key.proofHash).not.toContain(key.secret.slice(13));
    // The table must not hold what the gateway sends, or a copy of it could answer for the key.
    expect(key.proofHash).not.toBe(apiKeyProof(key.secret));
  });

  it('never generates the same secret twice', () => {
    const seen = new Set(Array.from({ length: 200 }, () => generateApiKeySecret().secret));
    expect(seen.size).toBe(200);
  });

  it("matches only the exact key's proof", () => {
    const key = generateApiKeySecret();
    expect(proofMatches(apiKeyProof(key.secret), key.proofHash)).toBe(true);
    const flipped = key.secret.slice(0, -1) + (key.secret.endsWith('A') ? 'B' : 'A');
    expect(proofMatches(apiKeyProof(flipped), key.proofHash)).toBe(false);
    expect(proofMatches(key.proofHash, key.proofHash)).toBe(false);
    expect(proofMatches(apiKeyProof(key.secret), 'deadbeef')).toBe(false);
  });
});
