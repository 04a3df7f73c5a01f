import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { assess } from '../domain/engine';
import { ChainalysisSanctionsClient } from './chainalysis';

/** A local stand-in for public.chainalysis.com: the behaviour is chosen per address. */
let server: http.Server;
let base: string;
const seen: { url: string; key: string | undefined }[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    seen.push({ url: req.url!, key: req.headers['x-api-key'] as string | undefined });
    const address = decodeURIComponent(req.url!.split('/').pop()!);
    if (req.headers['x-api-key'] !== 'k') {
      res.writeHead(403).end('{"message":"Forbidden"}');
      return;
    }
    switch (address) {
      case 'sanctioned':
        res.writeHead(200, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            identifications: [{ category: 'sanctions', name: 'SANCTIONS: OFAC SDN Lazarus Group', description: 'x', url: 'https://home.treasury.gov' }],
          }),
        );
        return;
      case 'clean':
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"identifications":[]}');
        return;
      case 'slow':
        setTimeout(() => res.writeHead(200).end('{"identifications":[]}'), 500);
        return;
      case 'garbage':
        res.writeHead(200, { 'content-type': 'text/html' }).end('<html>maintenance</html>');
        return;
      case 'wrong-shape':
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"identifications":"none"}');
        return;
      default:
        res.writeHead(500).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const client = (apiKey = 'k') => new ChainalysisSanctionsClient({ apiKey, baseUrl: base, timeoutMs: 100 });
const facts = (provider: Awaited<ReturnType<ChainalysisSanctionsClient['screen']>>, providerRequired = true) =>
  assess({
    address: 'x',
    networkId: 'ethereum',
    direction: 'IN',
    sanction: null,
    grey: [],
    usdCents: null,
    prior: [],
    exposure: null,
    provider,
    providerRequired,
    now: new Date(),
  });

describe('ChainalysisSanctionsClient against a local server', () => {
  it('sends GET /api/v1/address/{address} with X-API-Key and reads identifications', async () => {
    const out = await client().screen('ethereum', 'sanctioned');
    expect(out).toEqual({ ok: true, provider: 'chainalysis', identifications: [{ category: 'sanctions', name: 'SANCTIONS: OFAC SDN Lazarus Group' }] });
    expect(seen.at(-1)).toEqual({ url: '/api/v1/address/sanctioned', key: 'k' });
    expect(facts(out).decision).toBe('BLOCK');
  });
  it('a clean answer', async () => {
    const out = await client().screen('ethereum', 'clean');
    expect(out).toEqual({ ok: true, provider: 'chainalysis', identifications: [] });
    expect(facts(out).decision).toBe('ALLOW');
  });
  it.each([
    ['slow', /timed out after 100 ms/],
    ['garbage', /not JSON/],
    ['wrong-shape', /does not match/],
    ['boom', /HTTP 500/],
  ])('%s -> degraded with a reason, never ALLOW when required', async (address, why) => {
    const out = await client().screen('ethereum', address);
    expect(out.ok).toBe(false);
    if (!out.ok) expect(out.error).toMatch(why);
    const required = facts(out, true);
    expect(required.decision).toBe('REVIEW');
    expect(required.reasons.join(' ')).toMatch(/chainalysis unavailable/);
    const optional = facts(out, false);
    expect(optional.reasons.join(' ')).toMatch(/local rules only/);
  });
  it('a refused key and an unreachable server degrade too', async () => {
    expect(await client('bad').screen('ethereum', 'clean')).toMatchObject({ ok: false, error: 'HTTP 403' });
    const down = new ChainalysisSanctionsClient({ apiKey: 'k', baseUrl: 'http://127.0.0.1:1', timeoutMs: 200 });
    expect(await down.screen('ethereum', 'clean')).toMatchObject({ ok: false, error: expect.stringMatching(/request failed/) });
  });
});
