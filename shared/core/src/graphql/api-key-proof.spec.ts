import { createHash } from 'node:crypto';
import { rpcSchemas } from '../bus/messages';
import { API_KEY_LENGTH, apiKeyPrefix, apiKeyProof } from './api-key-proof';

const KEY = 'cpg_abcdefgh_' + 'A'.repeat(43);

describe('API key shape and proof', () => {
  it('reads the prefix of a well-formed key', () => {
    expect(KEY).toHaveLength(API_KEY_LENGTH);
    expect(apiKeyPrefix(KEY)).toBe('abcdefgh');
  });

  it.each([
    '',
    'cpg_',
    'cpg_abcdefgh',
    'cpg_notakey',
    'cpg_ABCDEFGH_' + 'a'.repeat(43),
    'xyz_abcdefgh_' + 'a'.repeat(43),
    'cpg_abcdefgh_' + 'a'.repeat(42),
    'cpg_abcdefgh_' + 'a'.repeat(44),
    ' cpg_abcdefgh_' + 'a'.repeat(42),
    'cpg_abcdefgh_' + 'a'.repeat(42) + '\n',
    'cpg_abcdefgh_' + 'a'.repeat(100_000),
  ])('refuses the malformed key %#', (s) => {
    expect(apiKeyPrefix(s)).toBeNull();
  });

  // Stored rows hold sha256 of this value: a change here locks every merchant out.
  it('derives the same proof forever', () => {
    expect(apiKeyProof(KEY)).toBe('6f1d21306c29b208ee1c8d7070fb4475dbf9fe8122e665180f3bb77cbefe754e');
  });

  it('is neither the key nor its plain sha256, and differs per key', () => {
    const proof = apiKeyProof(KEY);
    expect(proof).not.toContain(KEY.slice(13));
    expect(proof).not.toBe(createHash('sha256').update(KEY).digest('hex'));
    expect(apiKeyProof(KEY.slice(0, -1) + 'B')).not.toBe(proof);
  });

  it('fits the bus request, which refuses the key itself', () => {
    const schema = rpcSchemas['merchant.verify_api_key'].request;
    expect(schema.parse({ prefix: 'abcdefgh', proof: apiKeyProof(KEY) })).toEqual({ prefix: 'abcdefgh', proof: apiKeyProof(KEY) });
    expect(schema.safeParse({ prefix: 'abcdefgh', proof: KEY }).success).toBe(false);
    // A refusal names the field, never the value: the replier logs and returns this message.
    const refused = schema.safeParse({ prefix: 'abcdefgh', proof: KEY, secret: KEY });
    expect(refused.success).toBe(false);
    expect(refused.error!.message).not.toContain(KEY.slice(13));
    expect(schema.parse({ prefix: 'abcdefgh', proof: apiKeyProof(KEY), secret: KEY })).not.toHaveProperty('secret');
  });
});
