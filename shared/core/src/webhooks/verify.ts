// The receiver's side of webhook signatures, for merchants to copy into their own server: this file
// needs nothing but node:crypto, so it is copied alone (integration-tests/webhook-verifier.test.ts
// runs a lone copy of it against the real dispatcher). Hence the header names and the HMAC are
// spelled out here rather than imported from ./signature, the sender's side.
import { createHmac, timingSafeEqual } from 'node:crypto';

const ID_HEADER = 'X-Webhook-Id';
const TIMESTAMP_HEADER = 'X-Webhook-Timestamp';
const SIGNATURE_HEADER = 'X-Webhook-Signature';

export type HeaderBag = Record<string, string | string[] | undefined> | { get(name: string): string | null };

export interface VerifyWebhookOptions {
  /** The endpoint's signing secret; during a rotation pass both, old and new. */
  secret?: string;
  secrets?: readonly string[];
  headers: HeaderBag;
  /** The request body exactly as received, before any JSON parsing. */
  rawBody: string | Buffer;
  /** Unix seconds; for tests. */
  now?: number;
  toleranceSeconds?: number;
}

export type VerifyWebhookResult = { ok: true; id: string; timestamp: number } | { ok: false; reason: string };

function header(headers: HeaderBag, name: string): string | undefined {
  if (typeof (headers as { get?: unknown }).get === 'function') return (headers as { get(n: string): string | null }).get(name) ?? undefined;
  const bag = headers as Record<string, string | string[] | undefined>;
  const lower = name.toLowerCase();
  const key = Object.keys(bag).find((k) => k.toLowerCase() === lower);
  const v = key === undefined ? undefined : bag[key];
  return Array.isArray(v) ? v.join(' ') : v;
}

/**
 * Checks a webhook as the merchant's server receives it: the signature (compared in constant time,
 * so response timing reveals nothing about the expected value) and the timestamp's age (so a
 * captured request cannot be replayed later). Accepts when any `v1=` value matches any secret.
 */
export function verifyWebhook(opts: VerifyWebhookOptions): VerifyWebhookResult {
  const secrets = [...(opts.secrets ?? []), ...(opts.secret !== undefined ? [opts.secret] : [])].filter((s) => s.length > 0);
  if (!secrets.length) return { ok: false, reason: 'no secret given' };
  const id = header(opts.headers, ID_HEADER);
  const ts = header(opts.headers, TIMESTAMP_HEADER);
  const sig = header(opts.headers, SIGNATURE_HEADER);
  if (!id || !ts || !sig) return { ok: false, reason: 'missing webhook headers' };
  if (!/^\d{1,12}$/.test(ts)) return { ok: false, reason: 'bad timestamp' };
  const timestamp = Number(ts);
  const now = opts.now ?? Math.floor(Date.now() / 1000);
  const tolerance = opts.toleranceSeconds ?? 300;
  if (Math.abs(now - timestamp) > tolerance) return { ok: false, reason: 'timestamp outside the tolerance' };
  const given = sig
    .split(/[\s,]+/)
    .filter((part) => part.startsWith('v1='))
    .map((part) => part.slice(3))
    .filter((hex) => /^[0-9a-f]{64}$/.test(hex))
    .map((hex) => Buffer.from(hex, 'hex'));
  if (!given.length) return { ok: false, reason: 'no v1 signature' };
  let matched = false;
  // Every pair is compared, even after a match, so the time taken does not depend on which matched.
  for (const secret of secrets) {
    // hex HMAC-SHA256(secret, "<timestamp>.<raw body>"), as the sender signs it.
    const expected = createHmac('sha256', secret).update(`${ts}.`).update(opts.rawBody).digest();
    for (const g of given) if (timingSafeEqual(expected, g)) matched = true;
  }
  return matched ? { ok: true, id, timestamp } : { ok: false, reason: 'signature mismatch' };
}
