import { apiKeyPrefix, generateApiKeySecret, hashApiKeySecret, secretMatches } from './api-key-secret';

describe('API key secrets', () => {
  it('generates a secret whose prefix and hash identify it', () => {
    const key = generateApiKeySecret();
    expect(key.secret).toMatch(/^cpg_[a-z2-7]{8}_[A-Za-z0-9_-]{43}$/);
    expect(apiKeyPrefix(key.secret)).toBe(key.prefix);
    expect(key.hash).toBe(hashApiKeySecret(key.secret));
    expect(key.hash).not.toContain(key.secret.slice(13));
  });

  it('never generates the same secret twice', () => {
    const seen = new Set(Array.from({ length: 200 }, () => generateApiKeySecret().secret));
    expect(seen.size).toBe(200);
  });

  it.each([
    '',
    'cpg_',
    'cpg_abcdefgh',
    'cpg_ABCDEFGH_' + 'a'.repeat(43),
    'xyz_abcdefgh_' + 'a'.repeat(43),
    'cpg_abcdefgh_' + 'a'.repeat(42),
    ' cpg_abcdefgh_' + 'a'.repeat(43),
  ])('rejects the malformed secret %p', (s) => {
    expect(apiKeyPrefix(s)).toBeNull();
  });

  it('matches only the exact secret', () => {
    const key = generateApiKeySecret();
    expect(secretMatches(key.secret, key.hash)).toBe(true);
    const flipped = key.secret.slice(0, -1) + (key.secret.endsWith('A') ? 'B' : 'A');
    expect(secretMatches(flipped, key.hash)).toBe(false);
    expect(secretMatches(key.secret, 'deadbeef')).toBe(false);
  });
});
