import { readFileSync } from 'node:fs';
import path from 'node:path';
import { signatureHeader } from './signature';
import { verifyWebhook } from './verify';

const body = '{"id":"e1","type":"payment.paid"}';
const headersFor = (secrets: string[], ts: number) => ({
  'x-webhook-id': 'e1',
  'x-webhook-timestamp': String(ts),
  'x-webhook-signature': signatureHeader(secrets, ts, body),
});

describe('verifyWebhook', () => {
  const now = 1_800_000_000;
  it('accepts a fresh signature, with any header casing or a Headers object', () => {
    expect(verifyWebhook({ secret: 's1', headers: headersFor(['s1'], now), rawBody: body, now })).toEqual({ ok: true, id: 'e1', timestamp: now });
    expect(verifyWebhook({ secret: 's1', headers: new Headers(headersFor(['s1'], now)), rawBody: Buffer.from(body), now }).ok).toBe(true);
  });
  it('refuses a tampered body, a wrong secret, a missing header, an old or future timestamp', () => {
    const h = headersFor(['s1'], now);
    expect(verifyWebhook({ secret: 's1', headers: h, rawBody: `${body} `, now }).ok).toBe(false);
    expect(verifyWebhook({ secret: 's2', headers: h, rawBody: body, now }).ok).toBe(false);
    expect(verifyWebhook({ secret: 's1', headers: { ...h, 'x-webhook-signature': undefined }, rawBody: body, now }).ok).toBe(false);
    expect(verifyWebhook({ secret: 's1', headers: h, rawBody: body, now: now + 301 }).ok).toBe(false);
    expect(verifyWebhook({ secret: 's1', headers: h, rawBody: body, now: now - 301 }).ok).toBe(false);
    expect(verifyWebhook({ secret: 's1', headers: h, rawBody: body, now: now + 300 }).ok).toBe(true);
  });
  it('during a rotation either secret matches one of the two v1 values', () => {
    const h = headersFor(['new', 'old'], now);
    expect(verifyWebhook({ secret: 'old', headers: h, rawBody: body, now }).ok).toBe(true);
    expect(verifyWebhook({ secret: 'new', headers: h, rawBody: body, now }).ok).toBe(true);
    expect(verifyWebhook({ secrets: ['other', 'old'], headers: h, rawBody: body, now }).ok).toBe(true);
    expect(verifyWebhook({ secret: 'other', headers: h, rawBody: body, now }).ok).toBe(false);
  });
  it('needs a secret', () => {
    expect(verifyWebhook({ secrets: [], headers: headersFor(['s'], now), rawBody: body, now })).toEqual({ ok: false, reason: 'no secret given' });
  });
});

describe('verify.ts is copyable alone', () => {
  it('imports nothing but node:crypto', () => {
    const source = readFileSync(path.join(__dirname, 'verify.ts'), 'utf8');
    const imports = [...source.matchAll(/^\s*(?:import|export)\b[^;]*?from\s+'([^']+)'/gm)].map((m) => m[1]);
    expect(imports).toEqual(['node:crypto']);
    expect(source).not.toMatch(/\brequire\(/);
  });
});
