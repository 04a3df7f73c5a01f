import { RateUnavailableError, type FetchLike } from './provider';

/** Bodies bigger than this are not a price quote; refusing them bounds memory and parse time. */
const MAX_BODY_CHARS = 1_000_000;

/** GET and return the body, turning transport failures and non-2xx answers into RateUnavailableError. */
export async function getText(fetch: FetchLike, provider: string, url: string, headers: Record<string, string>, signal?: AbortSignal): Promise<string> {
  let res;
  try {
    res = await fetch(url, { method: 'GET', headers: { accept: 'application/json', ...headers }, signal });
  } catch (err) {
    throw new RateUnavailableError(`${provider}: request failed: ${(err as Error)?.message ?? String(err)}`, [], { cause: err });
  }
  // The body is read even on errors because providers explain 4xx/429 there; only a prefix is kept.
  const body = await res.text();
  if (!res.ok) throw new RateUnavailableError(`${provider}: HTTP ${res.status}: ${body.slice(0, 200)}`);
  if (body.length > MAX_BODY_CHARS) throw new RateUnavailableError(`${provider}: response too large`);
  return body;
}
