import type { FetchLike } from './provider';

/** A recorded HTTP exchange for provider specs; no network is ever touched. */
export interface StubResponse {
  status?: number;
  body: string;
}

export interface FetchCall {
  url: string;
  headers: Record<string, string>;
  signal?: AbortSignal;
}

/** fetch that answers from `respond` and records every call. */
export function stubFetch(respond: (url: string) => StubResponse | Error): { fetch: FetchLike; calls: FetchCall[] } {
  const calls: FetchCall[] = [];
  const fetch: FetchLike = async (url, init) => {
    calls.push({ url, headers: init?.headers ?? {}, signal: init?.signal });
    const r = respond(url);
    if (r instanceof Error) throw r;
    const status = r.status ?? 200;
    return { ok: status >= 200 && status < 300, status, text: async () => r.body };
  };
  return { fetch, calls };
}
