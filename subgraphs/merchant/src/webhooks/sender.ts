import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { type Resolver, resolveAllowed } from './ssrf';

export interface SendResult {
  statusCode: number | null;
  latencyMs: number;
  /** First 1 KB of the response body, as text. */
  excerpt: string | null;
  error: string | null;
  ok: boolean;
}

export interface SendOptions {
  url: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
  production: boolean;
  resolve?: Resolver;
}

const EXCERPT_BYTES = 1024;

/**
 * One POST. The host is resolved and checked here, and the socket is pinned to the checked
 * addresses through `lookup`, so a DNS answer that changes between check and connect (rebinding)
 * cannot steer the request to a refused address. Redirects are not followed for the same reason.
 * Never throws: every outcome becomes a result to log.
 */
export async function sendWebhook(opts: SendOptions): Promise<SendResult> {
  const started = Date.now();
  const fail = (error: string, statusCode: number | null = null, excerpt: string | null = null): SendResult => ({
    statusCode,
    latencyMs: Date.now() - started,
    excerpt,
    error,
    ok: false,
  });
  let url: URL;
  let addresses: { address: string; family: number }[];
  try {
    url = new URL(opts.url);
    addresses = await resolveAllowed(url.hostname, { production: opts.production, resolve: opts.resolve });
  } catch (err) {
    return fail((err as Error).message);
  }
  const lookup: LookupFunction = (_host, options, cb) => {
    if ((options as { all?: boolean }).all) (cb as unknown as (e: null, a: typeof addresses) => void)(null, addresses);
    else cb(null, addresses[0]!.address, addresses[0]!.family);
  };
  const client = url.protocol === 'https:' ? https : http;
  return new Promise<SendResult>((resolve) => {
    let settled = false;
    const done = (r: SendResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
    };
    const req = client.request(
      url,
      {
        method: 'POST',
        lookup,
        agent: false,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(opts.body).toString(),
          'user-agent': 'cpg-webhooks/1',
          ...opts.headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        let kept = 0;
        res.on('data', (c: Buffer) => {
          if (kept < EXCERPT_BYTES) {
            chunks.push(c.subarray(0, EXCERPT_BYTES - kept));
            kept += Math.min(c.length, EXCERPT_BYTES - kept);
          }
        });
        const finish = (error: string | null) => {
          const statusCode = res.statusCode ?? null;
          const ok = error === null && statusCode !== null && statusCode >= 200 && statusCode < 300;
          done({
            statusCode,
            latencyMs: Date.now() - started,
            excerpt: Buffer.concat(chunks).toString('utf8'),
            error: error ?? (ok ? null : `HTTP ${statusCode}`),
            ok,
          });
        };
        res.on('end', () => finish(null));
        res.on('error', (e) => finish(e.message));
        // A status line is enough to judge 2xx; a body that never ends must not keep the slot.
        res.on('aborted', () => finish('response aborted'));
      },
    );
    const timer = setTimeout(() => {
      req.destroy(new Error(`timed out after ${opts.timeoutMs} ms`));
    }, opts.timeoutMs);
    req.on('error', (e) => done(fail(e.message)));
    req.end(opts.body);
  });
}
