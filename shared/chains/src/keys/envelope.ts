import { type KeyObject, createCipheriv, createDecipheriv, createSecretKey, randomBytes } from 'node:crypto';
import { inspect } from 'node:util';

/**
 * Envelope encryption of secrets at rest (seeds, private keys).
 *
 * Layout of a sealed value: `[kek id: 1][nonce: 12][ciphertext][tag: 16]`.
 * The key id byte names the key-encryption key (KEK) that sealed the value, so KEKs can be
 * rotated: a process holds the current KEK for sealing and older ones for opening. The id byte
 * is also authenticated (it is part of the associated data), so flipping it cannot make a value
 * open under another key.
 *
 * The caller's associated data (AAD) binds a ciphertext to its row (merchant id, purpose, key
 * id ...): a sealed value copied into another row fails to open instead of silently becoming
 * that row's secret.
 */

const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
const HEADER_BYTES = 1;

/**
 * What seals and opens secrets. AES-GCM under a KEK from the environment today; a KMS or HSM
 * client can implement the same two calls (hence async) without touching the key store.
 */
export interface Sealer {
  /**
   * Called each time a new secret is stored. Not idempotent: every call draws a fresh nonce, so
   * sealing the same plaintext twice gives two different values (both open to the same bytes).
   */
  seal(plaintext: Uint8Array, aad: string): Promise<Buffer>;
  /**
   * Called whenever a stored secret is needed. Idempotent and side-effect free. Throws SealError
   * when the value was altered, belongs to another context (AAD), or was sealed under a KEK this
   * sealer does not hold. The caller owns the returned buffer and should zero it after use.
   */
  open(sealed: Uint8Array, aad: string): Promise<Buffer>;
}

/** Never carries key material or plaintext in its message: it may travel in an RPC error reply. */
export class SealError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SealError';
  }
}

export interface KeyEncryptionKey {
  /** 1..255, written in front of every value it seals. */
  id: number;
  /** 32 bytes. */
  key: Uint8Array;
}

function headerAad(id: number, aad: string): Buffer {
  return Buffer.concat([Buffer.from([id]), Buffer.from(aad, 'utf8')]);
}

function checkId(id: number): void {
  if (!Number.isInteger(id) || id < 1 || id > 255) throw new SealError(`key-encryption key id must be 1..255, got ${id}`);
}

/** AES-256-GCM with a ring of KEKs: the first seals, all open. */
export class AesGcmSealer implements Sealer {
  // KeyObjects, not Buffers: a stray log line or JSON.stringify of this object prints nothing secret.
  private readonly keys = new Map<number, KeyObject>();
  private readonly currentId: number;

  constructor(current: KeyEncryptionKey, previous: KeyEncryptionKey[] = []) {
    for (const k of [current, ...previous]) {
      checkId(k.id);
      if (k.key.length !== KEY_BYTES) throw new SealError(`key-encryption key #${k.id} must be ${KEY_BYTES} bytes`);
      if (this.keys.has(k.id)) throw new SealError(`key-encryption key id ${k.id} is given twice`);
      this.keys.set(k.id, createSecretKey(Buffer.from(k.key)));
    }
    this.currentId = current.id;
  }

  /** From the environment's hex form (64 hex characters). */
  static fromHex(hex: string, id = 1): AesGcmSealer {
    if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new SealError('key-encryption key must be 32 bytes written as 64 hex characters');
    return new AesGcmSealer({ id, key: Buffer.from(hex, 'hex') });
  }

  async seal(plaintext: Uint8Array, aad: string): Promise<Buffer> {
    return this.sealSync(plaintext, aad);
  }

  async open(sealed: Uint8Array, aad: string): Promise<Buffer> {
    return this.openSync(sealed, aad);
  }

  sealSync(plaintext: Uint8Array, aad: string): Buffer {
    const id = this.currentId;
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.keys.get(id)!, nonce, { authTagLength: TAG_BYTES });
    cipher.setAAD(headerAad(id, aad));
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return Buffer.concat([Buffer.from([id]), nonce, body, cipher.getAuthTag()]);
  }

  openSync(sealed: Uint8Array, aad: string): Buffer {
    if (!(sealed instanceof Uint8Array) || sealed.length < HEADER_BYTES + NONCE_BYTES + TAG_BYTES) throw new SealError('sealed value is malformed (too short)');
    const buf = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.length);
    const id = buf[0]!;
    const key = this.keys.get(id);
    if (!key) throw new SealError(`sealed under key-encryption key #${id}, which this process does not hold`);
    const nonce = buf.subarray(HEADER_BYTES, HEADER_BYTES + NONCE_BYTES);
    const tag = buf.subarray(buf.length - TAG_BYTES);
    const body = buf.subarray(HEADER_BYTES + NONCE_BYTES, buf.length - TAG_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
    decipher.setAAD(headerAad(id, aad));
    decipher.setAuthTag(tag);
    const out = decipher.update(body);
    try {
      return Buffer.concat([out, decipher.final()]);
    } catch {
      // GCM releases nothing unauthenticated to us, but `out` already holds candidate plaintext.
      out.fill(0);
      throw new SealError(
        `cannot open a value sealed under key-encryption key #${id}: the key-encryption key is wrong, or the value or its context was altered`,
      );
    }
  }

  /** Ids of the KEKs held, never their bytes: for logs and readiness output. */
  get keyIds(): number[] {
    return [...this.keys.keys()];
  }

  toJSON(): unknown {
    return { sealer: 'aes-256-gcm', keyIds: this.keyIds };
  }

  [inspect.custom](): string {
    return `AesGcmSealer(keyIds=${this.keyIds.join(',')})`;
  }
}
