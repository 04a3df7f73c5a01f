import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
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
export const NONCE_HEADER = 'x-cpg-nonce';
export const SIGNATURE_HEADER = 'x-cpg-signature';
// The next two repeat what the signature already binds. They let a subgraph say why it refused
// (a gateway pointed at the wrong subgraph, a proxy that re-encodes bodies) instead of only
// "bad signature"; they are compared, never trusted.
export const SUBGRAPH_HEADER = 'x-cpg-subgraph';
export const BODY_HASH_HEADER = 'x-cpg-body-sha256';
export const REQUEST_ID_HEADER = 'x-request-id';

/** First line of the signed string: a signature made for another format never verifies as this one. */
export const SIGNATURE_VERSION = 'cpg-gateway-request-v2';
/** Clock skew tolerated between gateway and subgraph hosts for a timestamp ahead of ours. */
export const MAX_FUTURE_SKEW_SECONDS = 5;
/** 128 bits: a nonce the gateway drew never repeats by chance within any window. */
const NONCE_BYTES = 16;

// Every field of the signed string comes from a charset without '\n', so joining them with '\n'
// is unambiguous: no two different requests have the same signed string.
const METHOD = /^[A-Z]{1,16}$/;
const SUBGRAPH_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;
const TIMESTAMP = /^\d{1,12}$/;
const NONCE = /^[A-Za-z0-9_-]{22,128}$/;
const BASE64URL = /^[A-Za-z0-9_-]{1,4096}$/;
const HMAC_HEX = /^[0-9a-f]{64}$/;

/** One HTTP request from the gateway to a subgraph, as it travels: the body exactly as sent. */
export interface SubgraphRequest {
  method: string;
  subgraph: string;
  body: string | Uint8Array;
}

export interface SignedFields {
  method: string;
  subgraph: string;
  bodySha256: string;
  timestamp: string;
  nonce: string;
  identity: string;
}

export function canonicalRequestString(f: SignedFields): string {
  return [SIGNATURE_VERSION, f.method, f.subgraph, f.bodySha256, f.timestamp, f.nonce, f.identity].join('\n');
}

export function bodySha256(body: string | Uint8Array): string {
  // A string body goes on the wire as UTF-8 (fetch, http.request), so that is what is hashed.
  return createHash('sha256')
    .update(typeof body === 'string' ? Buffer.from(body, 'utf8') : body)
    .digest('hex');
}

function mac(secret: string, fields: SignedFields): Buffer {
  return createHmac('sha256', secret).update(canonicalRequestString(fields)).digest();
}

export function encodeIdentity(identity: Identity): string {
  return Buffer.from(JSON.stringify(identity)).toString('base64url');
}

export function decodeIdentity(encoded: string): Identity | undefined {
  try {
    const parsed = identitySchema.safeParse(JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

export interface SignOptions {
  now?: number;
  /** Tests only: a chosen nonce. The gateway always draws a fresh one. */
  nonce?: string;
}

/**
 * The headers that make one subgraph request acceptable exactly once: to that subgraph, with that
 * method and body, for `GATEWAY_SIGNATURE_MAX_AGE_SECONDS`. Called by the gateway for every
 * subgraph fetch, over the body bytes it is about to send.
 */
export function signRequest(identity: Identity, request: SubgraphRequest, secret: string, opts: SignOptions = {}): Record<string, string> {
  if (!METHOD.test(request.method)) throw new Error(`cannot sign an HTTP method like ${JSON.stringify(request.method)}`);
  if (!SUBGRAPH_NAME.test(request.subgraph)) throw new Error(`cannot sign for a subgraph named ${JSON.stringify(request.subgraph)}`);
  const nonce = opts.nonce ?? randomBytes(NONCE_BYTES).toString('base64url');
  if (!NONCE.test(nonce)) throw new Error('a nonce is base64url of at least 128 bits');
  const fields: SignedFields = {
    method: request.method,
    subgraph: request.subgraph,
    bodySha256: bodySha256(request.body),
    timestamp: String(Math.floor((opts.now ?? Date.now()) / 1000)),
    nonce,
    identity: encodeIdentity(identity),
  };
  return {
    [IDENTITY_HEADER]: fields.identity,
    [TIMESTAMP_HEADER]: fields.timestamp,
    [NONCE_HEADER]: fields.nonce,
    [SUBGRAPH_HEADER]: fields.subgraph,
    [BODY_HASH_HEADER]: fields.bodySha256,
    [SIGNATURE_HEADER]: mac(secret, fields).toString('hex'),
  };
}

export type HeaderBag = Record<string, string | string[] | undefined>;

export interface SignatureHeaders {
  identity: string;
  timestamp: string;
  nonce: string;
  subgraph: string;
  bodySha256: string;
  signature: string;
}

export type HeaderCheck = { ok: true; signed: SignatureHeaders } | { ok: false; reason: string };

/**
 * What can be checked before reading the body: every header present and well formed, the
 * timestamp inside the window, and the request meant for this subgraph. Lets a subgraph refuse an
 * unsigned or stale request without reading (up to a megabyte of) body first.
 */
export function checkSignatureHeaders(headers: HeaderBag, subgraph: string, maxAgeSeconds: number, now = Date.now()): HeaderCheck {
  const one = (name: string) => {
    const v = headers[name];
    return Array.isArray(v) ? (v.length === 1 ? v[0] : undefined) : v;
  };
  const identity = one(IDENTITY_HEADER);
  const timestamp = one(TIMESTAMP_HEADER);
  const nonce = one(NONCE_HEADER);
  const claimedSubgraph = one(SUBGRAPH_HEADER);
  const claimedHash = one(BODY_HASH_HEADER);
  const signature = one(SIGNATURE_HEADER);
  if (!identity || !timestamp || !nonce || !claimedSubgraph || !claimedHash || !signature)
    return { ok: false, reason: 'request was not signed by the gateway' };
  if (!BASE64URL.test(identity) || !NONCE.test(nonce) || !SHA256_HEX.test(claimedHash) || !HMAC_HEX.test(signature) || !TIMESTAMP.test(timestamp)) {
    return { ok: false, reason: 'malformed gateway signature headers' };
  }
  const age = now / 1000 - Number(timestamp);
  if (age > maxAgeSeconds) return { ok: false, reason: 'gateway signature expired' };
  if (age < -MAX_FUTURE_SKEW_SECONDS) return { ok: false, reason: 'gateway signature timestamp is in the future' };
  if (claimedSubgraph !== subgraph) return { ok: false, reason: `signed for subgraph "${claimedSubgraph.slice(0, 64)}", this is "${subgraph}"` };
  return { ok: true, signed: { identity, timestamp, nonce, subgraph: claimedSubgraph, bodySha256: claimedHash, signature } };
}

export type VerifyResult = { ok: true; identity: Identity; nonce: string } | { ok: false; reason: string };

/**
 * Called by every subgraph on every request, over the body bytes it received. Stateless: the
 * caller must still refuse a nonce it has already accepted (ReplayGuard).
 */
export function verifyRequest(headers: HeaderBag, request: SubgraphRequest, secret: string, maxAgeSeconds: number, now = Date.now()): VerifyResult {
  const checked = checkSignatureHeaders(headers, request.subgraph, maxAgeSeconds, now);
  if (!checked.ok) return checked;
  const { signed } = checked;
  const actualHash = bodySha256(request.body);
  if (actualHash !== signed.bodySha256) return { ok: false, reason: 'body does not match the signed body hash' };
  const expected = mac(secret, {
    method: request.method,
    subgraph: request.subgraph,
    bodySha256: actualHash,
    timestamp: signed.timestamp,
    nonce: signed.nonce,
    identity: signed.identity,
  });
  const given = Buffer.from(signed.signature, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'bad gateway signature' };
  const identity = decodeIdentity(signed.identity);
  return identity ? { ok: true, identity, nonce: signed.nonce } : { ok: false, reason: 'malformed identity' };
}
