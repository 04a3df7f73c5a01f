import { z } from 'zod';
import type { ProviderOutcome } from '../domain/engine';
import type { KytProvider } from './provider';

/**
 * Chainalysis' free sanctions screening API (https://public.chainalysis.com/api/v1/address/{address},
 * header `X-API-Key`), documented at https://auth-developers.chainalysis.com/sanctions-screening/docs.
 * Answer: `{ "identifications": [ { "category": "sanctions", "name": "...", "description": "...", "url": "..." } ] }`,
 * empty when the address is not sanctioned. Any other status, a timeout, a network error or a body
 * that does not match is `{ ok: false }` with the cause.
 */
export const CHAINALYSIS_DEFAULT_URL = 'https://public.chainalysis.com';

const answer = z.object({
  identifications: z.array(
    z.object({
      category: z.string(),
      name: z.string().nullish(),
      description: z.string().nullish(),
      url: z.string().nullish(),
    }),
  ),
});

export interface ChainalysisOptions {
  apiKey: string;
  baseUrl?: string;
  timeoutMs?: number;
  fetch?: typeof globalThis.fetch;
}

export class ChainalysisSanctionsClient implements KytProvider {
  readonly name = 'chainalysis';
  private readonly baseUrl: string;
  private readonly timeoutMs: number;
  private readonly fetch: typeof globalThis.fetch;

  constructor(private readonly opts: ChainalysisOptions) {
    this.baseUrl = (opts.baseUrl ?? CHAINALYSIS_DEFAULT_URL).replace(/\/+$/, '');
    this.timeoutMs = opts.timeoutMs ?? 3000;
    this.fetch = opts.fetch ?? globalThis.fetch;
  }

  async screen(_networkId: string, address: string): Promise<ProviderOutcome> {
    const fail = (error: string): ProviderOutcome => ({ ok: false, provider: this.name, error });
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), this.timeoutMs);
    try {
      const res = await this.fetch(`${this.baseUrl}/api/v1/address/${encodeURIComponent(address)}`, {
        headers: { 'X-API-Key': this.opts.apiKey, accept: 'application/json' },
        signal: ctl.signal,
      });
      const text = await res.text();
      if (!res.ok) return fail(`HTTP ${res.status}`);
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        return fail('answer is not JSON');
      }
      const parsed = answer.safeParse(body);
      if (!parsed.success) return fail('answer does not match {identifications: [...]}');
      return {
        ok: true,
        provider: this.name,
        identifications: parsed.data.identifications.map((i) => ({ category: i.category, name: i.name ?? '' })),
      };
    } catch (err) {
      return fail(ctl.signal.aborted ? `timed out after ${this.timeoutMs} ms` : `request failed: ${(err as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
  }
}
