import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

export const API_SCOPES = ['READ', 'PAYMENTS_WRITE', 'WITHDRAWALS_WRITE', 'ADDRESSES_WRITE', 'SETTINGS_WRITE'] as const;
export type ApiScope = (typeof API_SCOPES)[number];

/** Who is calling, as established by the gateway; subgraphs trust it only when signed. */
export const identitySchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('operator') }),
  z.object({ kind: z.literal('merchant'), merchantId: z.string().uuid(), keyId: z.string().uuid(), scopes: z.array(z.enum(API_SCOPES)) }),
  // Unauthenticated callers reach only public fields (the widget's checkout by token).
  z.object({ kind: z.literal('anonymous') }),
]);
export type Identity = z.infer<typeof identitySchema>;

export const IDENTITY_HEADER = 'x-cpg-identity';
export const TIMESTAMP_HEADER = 'x-cpg-timestamp';
export const SIGNATURE_HEADER = 'x-cpg-signature';
export const REQUEST_ID_HEADER = 'x-request-id';

function mac(secret: string, timestamp: string, identity: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${identity}`).digest('hex');
}

/** Called by the gateway for every subgraph fetch. */
export function signIdentity(identity: Identity, secret: string, now = Date.now()): Record<string, string> {
  const encoded = Buffer.from(JSON.stringify(identity)).toString('base64url');
  const timestamp = String(Math.floor(now / 1000));
  return { [IDENTITY_HEADER]: encoded, [TIMESTAMP_HEADER]: timestamp, [SIGNATURE_HEADER]: mac(secret, timestamp, encoded) };
}

export type VerifyResult = { ok: true; identity: Identity } | { ok: false; reason: string };

/**
 * Called by every subgraph on every request. Constant-time comparison; a signature older than
 * `maxAgeSeconds` is refused so a captured request cannot be replayed later.
 */
export function verifyIdentity(headers: Record<string, string | string[] | undefined>, secret: string, maxAgeSeconds: number, now = Date.now()): VerifyResult {
  const one = (name: string) => {
    const v = headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  const encoded = one(IDENTITY_HEADER);
  const timestamp = one(TIMESTAMP_HEADER);
  const signature = one(SIGNATURE_HEADER);
  if (!encoded || !timestamp || !signature) return { ok: false, reason: 'request was not signed by the gateway' };
  if (!/^\d{1,12}$/.test(timestamp) || Math.abs(now / 1000 - Number(timestamp)) > maxAgeSeconds) return { ok: false, reason: 'gateway signature expired' };
  const expected = Buffer.from(mac(secret, timestamp, encoded), 'hex');
  const given = Buffer.from(signature, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'bad gateway signature' };
  try {
    const parsed = identitySchema.safeParse(JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8')));
    return parsed.success ? { ok: true, identity: parsed.data } : { ok: false, reason: 'malformed identity' };
  } catch {
    return { ok: false, reason: 'malformed identity' };
  }
}
