import { ChainError, type RpcEndpointConfig, type RpcTransport } from '../types';

export interface RpcPoolOptions {
  /** Per-request timeout. */
  timeoutMs?: number;
}

/**
 * Minimal transport over the first endpoint. (To be replaced by the full pool: several
 * endpoints, retries with jittered backoff, failover, health and a concurrency limit.)
 */
export function createRpcPool(endpoints: RpcEndpointConfig[], opts: RpcPoolOptions = {}): RpcTransport {
  const ep = endpoints[0];
  if (!ep) throw new Error('no RPC endpoint configured');
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const headers: Record<string, string> = { 'content-type': 'application/json', ...(ep.headers ?? {}) };
  if (ep.username) headers.authorization = `Basic ${Buffer.from(`${ep.username}:${ep.password ?? ''}`).toString('base64')}`;
  let id = 0;
  async function send(url: string, body: unknown): Promise<unknown> {
    let res: Response;
    try {
      res = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs) });
    } catch (err) {
      throw new ChainError(`rpc ${url} unreachable: ${(err as Error).message}`, true, err);
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new ChainError(`rpc ${url} answered ${res.status} with non-JSON`, res.status >= 500 || res.status === 429);
    }
    if (!res.ok && !(json && typeof json === 'object' && 'error' in json)) throw new ChainError(`rpc ${url} answered ${res.status}`, res.status >= 500 || res.status === 429);
    return json;
  }
  return {
    async call<T>(method: string, params: unknown[] = []): Promise<T> {
      const json = (await send(ep.url, { jsonrpc: '2.0', id: ++id, method, params })) as { result?: T; error?: { code: number; message: string } | null };
      if (json.error) throw new ChainError(`${method}: ${json.error.message} (${json.error.code})`, false, json.error);
      return json.result as T;
    },
    async post<T>(path: string, body: unknown): Promise<T> {
      return (await send(new URL(path, ep.url).toString(), body)) as T;
    },
  };
}
