import { createHmac } from 'node:crypto';
import {
  BODY_HASH_HEADER,
  IDENTITY_HEADER,
  type Identity,
  NONCE_HEADER,
  SIGNATURE_HEADER,
  SUBGRAPH_HEADER,
  TIMESTAMP_HEADER,
  bodySha256,
  canonicalRequestString,
  checkSignatureHeaders,
  encodeIdentity,
  signRequest,
  verifyRequest,
} from './identity';

const secret = 'gateway-secret-0123456789abcdef';
const now = 1_800_000_000_000;
const operator: Identity = { kind: 'operator' };
const merchant: Identity = {
  kind: 'merchant',
  merchantId: '6f1c8a3e-2b4d-4e5f-8a9b-0c1d2e3f4a5b',
  keyId: '7a2b3c4d-5e6f-4a1b-9c2d-3e4f5a6b7c8d',
  scopes: ['READ'],
};
const body = '{"query":"mutation { createMerchant(input: { name: \\"é\\" }) { merchant { id } } }","variables":{}}';
const request = { method: 'POST', subgraph: 'merchant', body };

describe('signRequest / verifyRequest', () => {
  it('accepts what it signed, over the string or the same bytes, and returns the identity and nonce', () => {
    const headers = signRequest(merchant, request, secret, { now });
    expect(verifyRequest(headers, request, secret, 60, now)).toEqual({ ok: true, identity: merchant, nonce: headers[NONCE_HEADER] });
    expect(verifyRequest(headers, { ...request, body: Buffer.from(body, 'utf8') }, secret, 60, now).ok).toBe(true);
  });

  it('signs the documented canonical string with HMAC-SHA256', () => {
    const headers = signRequest(operator, request, secret, { now, nonce: 'AAAAAAAAAAAAAAAAAAAAAA' });
    const canonical = canonicalRequestString({
      method: 'POST',
      subgraph: 'merchant',
      bodySha256: bodySha256(body),
      timestamp: String(now / 1000),
      nonce: 'AAAAAAAAAAAAAAAAAAAAAA',
      identity: encodeIdentity(operator),
    });
    expect(canonical.split('\n')).toEqual([
      'cpg-gateway-request-v2',
      'POST',
      'merchant',
      bodySha256(body),
      String(now / 1000),
      'AAAAAAAAAAAAAAAAAAAAAA',
      encodeIdentity(operator),
    ]);
    expect(headers[SIGNATURE_HEADER]).toBe(createHmac('sha256', secret).update(canonical).digest('hex'));
  });

  it('draws a fresh nonce of at least 128 bits for every request', () => {
    const nonces = new Set(Array.from({ length: 50 }, () => signRequest(operator, request, secret)[NONCE_HEADER]));
    expect(nonces.size).toBe(50);
    for (const n of nonces) expect(Buffer.from(n!, 'base64url').length).toBeGreaterThanOrEqual(16);
  });

  it('refuses another body, even with its hash header rewritten to match', () => {
    const headers = signRequest(operator, request, secret, { now });
    const other = body.replace('é', 'x');
    expect(verifyRequest(headers, { ...request, body: other }, secret, 60, now)).toEqual({ ok: false, reason: 'body does not match the signed body hash' });
    expect(verifyRequest({ ...headers, [BODY_HASH_HEADER]: bodySha256(other) }, { ...request, body: other }, secret, 60, now)).toEqual({
      ok: false,
      reason: 'bad gateway signature',
    });
  });

  it('refuses a request signed for another subgraph, even with its subgraph header rewritten', () => {
    const headers = signRequest(operator, request, secret, { now });
    const atPayment = { ...request, subgraph: 'payment' };
    expect(verifyRequest(headers, atPayment, secret, 60, now)).toEqual({ ok: false, reason: 'signed for subgraph "merchant", this is "payment"' });
    expect(verifyRequest({ ...headers, [SUBGRAPH_HEADER]: 'payment' }, atPayment, secret, 60, now)).toEqual({ ok: false, reason: 'bad gateway signature' });
  });

  it('refuses another method', () => {
    const headers = signRequest(operator, request, secret, { now });
    expect(verifyRequest(headers, { ...request, method: 'PUT' }, secret, 60, now)).toEqual({ ok: false, reason: 'bad gateway signature' });
  });

  it('refuses a wrong secret, a swapped identity, timestamp or nonce', () => {
    const headers = signRequest(merchant, request, secret, { now });
    expect(verifyRequest(headers, request, 'another-secret-of-the-same-size', 60, now).ok).toBe(false);
    const swaps = {
      [IDENTITY_HEADER]: encodeIdentity(operator),
      [TIMESTAMP_HEADER]: String(now / 1000 - 1),
      [NONCE_HEADER]: 'BBBBBBBBBBBBBBBBBBBBBB',
    };
    for (const [name, value] of Object.entries(swaps)) {
      expect(verifyRequest({ ...headers, [name]: value }, request, secret, 60, now)).toEqual({ ok: false, reason: 'bad gateway signature' });
    }
  });

  it('refuses a timestamp older than the window or more than 5 s ahead', () => {
    const signedAt = (offsetMs: number) => signRequest(operator, request, secret, { now: now + offsetMs });
    expect(verifyRequest(signedAt(-60_000), request, secret, 60, now).ok).toBe(true);
    expect(verifyRequest(signedAt(-61_000), request, secret, 60, now)).toEqual({ ok: false, reason: 'gateway signature expired' });
    expect(verifyRequest(signedAt(5_000), request, secret, 60, now).ok).toBe(true);
    expect(verifyRequest(signedAt(6_000), request, secret, 60, now)).toEqual({ ok: false, reason: 'gateway signature timestamp is in the future' });
    expect(verifyRequest(signedAt(30_000), request, secret, 60, now).ok).toBe(false);
  });

  it('refuses missing, repeated or malformed headers before computing anything', () => {
    const headers = signRequest(operator, request, secret, { now });
    for (const name of [IDENTITY_HEADER, TIMESTAMP_HEADER, NONCE_HEADER, SUBGRAPH_HEADER, BODY_HASH_HEADER, SIGNATURE_HEADER]) {
      expect(verifyRequest({ ...headers, [name]: undefined }, request, secret, 60, now)).toEqual({
        ok: false,
        reason: 'request was not signed by the gateway',
      });
      expect(verifyRequest({ ...headers, [name]: [headers[name]!, headers[name]!] }, request, secret, 60, now).ok).toBe(false);
    }
    expect(checkSignatureHeaders({ ...headers, [NONCE_HEADER]: 'short' }, 'merchant', 60, now)).toEqual({
      ok: false,
      reason: 'malformed gateway signature headers',
    });
    expect(checkSignatureHeaders({ ...headers, [TIMESTAMP_HEADER]: '1e9' }, 'merchant', 60, now).ok).toBe(false);
    expect(checkSignatureHeaders({ ...headers, [SIGNATURE_HEADER]: 'zz' }, 'merchant', 60, now).ok).toBe(false);
  });

  it('refuses an identity the schema does not allow, even when correctly signed', () => {
    const forged = Buffer.from(JSON.stringify({ kind: 'root' })).toString('base64url');
    const fields = { method: 'POST', subgraph: 'merchant', bodySha256: bodySha256(body), timestamp: String(now / 1000), nonce: 'CCCCCCCCCCCCCCCCCCCCCC' };
    const signature = createHmac('sha256', secret)
      .update(canonicalRequestString({ ...fields, identity: forged }))
      .digest('hex');
    const headers = {
      [IDENTITY_HEADER]: forged,
      [TIMESTAMP_HEADER]: fields.timestamp,
      [NONCE_HEADER]: fields.nonce,
      [SUBGRAPH_HEADER]: 'merchant',
      [BODY_HASH_HEADER]: fields.bodySha256,
      [SIGNATURE_HEADER]: signature,
    };
    expect(verifyRequest(headers, request, secret, 60, now)).toEqual({ ok: false, reason: 'malformed identity' });
  });

  it('will not sign a method or subgraph name that could blur the canonical string', () => {
    expect(() => signRequest(operator, { ...request, method: 'POST\nmerchant' }, secret)).toThrow(/method/);
    expect(() => signRequest(operator, { ...request, subgraph: 'merchant\npayment' }, secret)).toThrow(/subgraph/);
    expect(() => signRequest(operator, request, secret, { nonce: 'too-short' })).toThrow(/nonce/);
  });
});
