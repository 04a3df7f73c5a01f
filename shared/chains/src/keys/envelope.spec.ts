import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { AesGcmSealer, SealError } from './envelope';

const kekHex = randomBytes(32).toString('hex');
const sealer = AesGcmSealer.fromHex(kekHex);
const secret = Buffer.from('correct horse battery staple', 'utf8');
const aad = 'seed:7b0d6a4e-3c1f-4f7a-9a51-2f0e6f1c8d01';

async function openError(s: AesGcmSealer, sealed: Uint8Array, context: string): Promise<Error> {
  try {
    await s.open(sealed, context);
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected open to fail');
}

function expectNoSecrets(err: Error): void {
  expect(err).toBeInstanceOf(SealError);
  expect(err.message).not.toContain(kekHex);
  expect(err.message).not.toContain(secret.toString('utf8'));
  expect(err.message).not.toContain(secret.toString('hex'));
}

describe('AES-256-GCM envelope', () => {
  it('round-trips, with a fresh nonce per seal and the key id in front', async () => {
    const a = await sealer.seal(secret, aad);
    const b = await sealer.seal(secret, aad);
    expect(a.equals(b)).toBe(false);
    expect(a[0]).toBe(1);
    expect(a.length).toBe(1 + 12 + secret.length + 16);
    expect(a.includes(secret)).toBe(false);
    expect((await sealer.open(a, aad)).equals(secret)).toBe(true);
    expect((await sealer.open(b, aad)).equals(secret)).toBe(true);
  });

  it('fails on any flipped bit: key id, nonce, ciphertext, tag', async () => {
    const sealed = await sealer.seal(secret, aad);
    for (const at of [0, 1, 12, 13, 13 + secret.length, sealed.length - 1]) {
      const bad = Buffer.from(sealed);
      bad[at] = bad[at]! ^ 0x01;
      expectNoSecrets(await openError(sealer, bad, aad));
    }
    expectNoSecrets(await openError(sealer, sealed.subarray(0, 20), aad));
  });

  it('fails under other associated data (a value copied to another row)', async () => {
    const sealed = await sealer.seal(secret, aad);
    const err = await openError(sealer, sealed, 'seed:0f3c2b1a-9d8e-4c7b-a6f5-e4d3c2b1a098');
    expectNoSecrets(err);
    expect(err.message).toMatch(/key-encryption key is wrong, or the value or its context was altered/);
  });

  it('fails under another KEK with the same id, and names a KEK id it does not hold', async () => {
    const sealed = await sealer.seal(secret, aad);
    expectNoSecrets(await openError(AesGcmSealer.fromHex(randomBytes(32).toString('hex')), sealed, aad));
    const other = await openError(AesGcmSealer.fromHex(kekHex, 2), sealed, aad);
    expectNoSecrets(other);
    expect(other.message).toMatch(/key-encryption key #1, which this process does not hold/);
  });

  it('opens values of a previous KEK after rotation and seals under the new one', async () => {
    const old = await sealer.seal(secret, aad);
    const rotated = new AesGcmSealer({ id: 2, key: randomBytes(32) }, [{ id: 1, key: Buffer.from(kekHex, 'hex') }]);
    expect((await rotated.open(old, aad)).equals(secret)).toBe(true);
    const fresh = await rotated.seal(secret, aad);
    expect(fresh[0]).toBe(2);
    await expect(sealer.open(fresh, aad)).rejects.toThrow(SealError);
  });

  it('rejects a KEK of the wrong form without echoing it', () => {
    expect(() => AesGcmSealer.fromHex('abcd')).toThrow(/64 hex characters/);
    expect(() => new AesGcmSealer({ id: 0, key: randomBytes(32) })).toThrow(SealError);
    expect(() => new AesGcmSealer({ id: 1, key: randomBytes(16) })).toThrow(/32 bytes/);
  });

  it('never prints key bytes when logged or serialised', () => {
    expect(JSON.stringify(sealer)).not.toContain(kekHex);
    expect(inspect(sealer, { depth: 10, showHidden: true })).not.toContain(kekHex);
  });
});
