import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/** A new signing secret; the prefix lets a leaked secret be recognised by scanners. */
export function generateSigningSecret(): string {
  return `whsec_${randomBytes(32).toString('base64url')}`;
}

/**
 * Seals signing secrets at rest (AES-256-GCM). They must stay usable to sign, so they cannot be
 * hashed like API keys; sealing keeps a database dump alone from yielding them. The key is derived
 * from GATEWAY_SECRET, which every replica already holds: rotating that secret makes stored
 * signing secrets unreadable, so endpoints must then be rotated too (see the README).
 */
export class SecretBox {
  private readonly key: Buffer;
  constructor(masterSecret: string) {
    this.key = Buffer.from(hkdfSync('sha256', masterSecret, 'cpg-merchant', 'webhook-signing-secrets/v1', 32));
  }

  seal(plain: string): string {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.key, iv);
    const data = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
    return `v1.${iv.toString('base64url')}.${data.toString('base64url')}.${c.getAuthTag().toString('base64url')}`;
  }

  open(sealed: string): string {
    const [v, iv, data, tag] = sealed.split('.');
    if (v !== 'v1' || !iv || data === undefined || !tag) throw new Error('unknown sealed secret format');
    const d = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
    d.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([d.update(Buffer.from(data, 'base64url')), d.final()]).toString('utf8');
  }
}
