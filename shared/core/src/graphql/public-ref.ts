import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';

const PREFIX = 'pub_';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * Opaque entity keys for anonymous readers. A checkout page reads `payment.merchant { name }`;
 * federation needs the Merchant's key to fetch the name, and whatever key the payment subgraph
 * hands out is what the client can select as `id`. A non-owner therefore gets the real id sealed
 * (AES-256-GCM, fresh IV each time, the type name as associated data) under a key every subgraph
 * derives from the gateway secret: the owning subgraph opens it and serves the public face only,
 * and the reader learns nothing that links it to the merchant's API or to another payment.
 */
export class PublicRefs {
  private readonly key: Buffer;
  constructor(secret: string) {
    this.key = createHmac('sha256', secret).update('cpg/public-entity-ref/v1').digest();
  }

  seal(typename: string, id: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(typename, 'utf8'));
    const body = Buffer.concat([cipher.update(id, 'utf8'), cipher.final()]);
    return PREFIX + Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url');
  }

  static isSealed(ref: string): boolean {
    return typeof ref === 'string' && ref.startsWith(PREFIX);
  }

  /** The id inside a ref sealed for `typename`; undefined for anything else (forged, other type, too long). */
  open(typename: string, ref: string): string | undefined {
    if (!PublicRefs.isSealed(ref) || ref.length > 256) return undefined;
    const raw = Buffer.from(ref.slice(PREFIX.length), 'base64url');
    if (raw.length <= IV_BYTES + TAG_BYTES) return undefined;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, IV_BYTES));
      decipher.setAAD(Buffer.from(typename, 'utf8'));
      decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
      return Buffer.concat([decipher.update(raw.subarray(IV_BYTES, raw.length - TAG_BYTES)), decipher.final()]).toString('utf8');
    } catch {
      return undefined;
    }
  }
}

/** Marks an entity row served to a non-owner through a sealed ref: only its public fields resolve. */
export const PUBLIC_FACE = Symbol('public-face');
export type PublicFace<T> = T & { [PUBLIC_FACE]: string };

/** Marks the row itself (ORM entities keep their prototype); the caller's identity is the same for the whole request. */
export function publicFace<T extends object>(row: T, sealedRef: string): PublicFace<T> {
  return Object.assign(row, { [PUBLIC_FACE]: sealedRef });
}

export function isPublicFace(row: object): row is PublicFace<object> {
  return PUBLIC_FACE in row;
}
