import type { RpcFailure } from './classify';
import { joinPath, type PreparedEndpoint } from './endpoint';

export type Interpretation = { ok: true; value: unknown } | { ok: false; failure: RpcFailure; data?: unknown };

/** How one kind of request is sent and how its answer is read; everything else is shared. */
export interface Job {
  /** Names the request in messages: the method, or POST and the path. */
  what: string;
  url(endpoint: PreparedEndpoint): URL;
  body(id: number): string;
  interpret(status: number, text: string, id: number): Interpretation;
}

// A lying node can send megabytes as an error message; messages are for humans and logs.
const MAX_MESSAGE = 300;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function clip(text: string): string {
  return text.length > MAX_MESSAGE ? `${text.slice(0, MAX_MESSAGE)}…` : text;
}

function isOk(status: number): boolean {
  return status >= 200 && status < 300;
}

function interpretJsonRpc(status: number, text: string, id: number): Interpretation {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const body = isRecord(json) ? json : null;
  const error = body?.error;
  if (body && error !== undefined && error !== null) {
    // Bitcoin Core answers RPC errors with HTTP 500 (404 for unknown methods) and this body: it is
    // the node's answer about the request, not a server failure, whatever the status says.
    if (isRecord(error) && typeof error.code === 'number' && typeof error.message === 'string') {
      // A null id is how JSON-RPC reports errors it could not tie to a request (parse errors).
      if (body.id !== id && body.id !== null && body.id !== undefined)
        return { ok: false, failure: { kind: 'invalid', reason: 'error for another request id' } };
      return { ok: false, failure: { kind: 'rpc', code: error.code, message: clip(error.message), status }, data: error.data };
    }
    if (isOk(status)) return { ok: false, failure: { kind: 'invalid', reason: 'malformed error object' } };
  }
  if (!isOk(status)) return { ok: false, failure: { kind: 'http', status } };
  if (!body) return { ok: false, failure: { kind: 'invalid', reason: json === undefined ? 'not JSON' : 'not a JSON-RPC response object' } };
  if (body.id !== id) return { ok: false, failure: { kind: 'invalid', reason: 'answer for another request id' } };
  if (!('result' in body)) return { ok: false, failure: { kind: 'invalid', reason: 'neither result nor error' } };
  return { ok: true, value: body.result };
}

function interpretJson(status: number, text: string): Interpretation {
  if (!isOk(status)) return { ok: false, failure: { kind: 'http', status } };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false, failure: { kind: 'invalid', reason: 'not JSON' } };
  }
}

export function networkMessage(err: unknown): string {
  // undici reports "fetch failed" and hides the useful part (ECONNRESET, ECONNREFUSED...) in `cause`.
  const cause = (err as { cause?: { code?: unknown; message?: unknown } })?.cause;
  if (cause && typeof cause.code === 'string') return cause.code;
  if (cause && typeof cause.message === 'string') return cause.message;
  return err instanceof Error ? err.message : String(err);
}

/** A JSON-RPC call; `prefix` names the network in messages. */
export function jsonRpcJob(prefix: string, method: string, params: unknown[]): Job {
  // Serialised once, up front: a bigint or a cycle in params is the caller's bug and must not
  // look like a network failure.
  const paramsJson = JSON.stringify(params);
  const methodJson = JSON.stringify(method);
  return {
    what: `${prefix}${method}`,
    url: (endpoint) => endpoint.url,
    body: (id) => `{"jsonrpc":"2.0","id":${id},"method":${methodJson},"params":${paramsJson}}`,
    interpret: interpretJsonRpc,
  };
}

/** A JSON POST to a path of the node's HTTP API (Tron); `prefix` names the network in messages. */
export function postJob(prefix: string, path: string, body: unknown): Job {
  const json = JSON.stringify(body ?? {});
  const shownPath = path.split('?')[0];
  return {
    what: `${prefix}POST ${shownPath}`,
    url: (endpoint) => joinPath(endpoint.url, path),
    body: () => json,
    interpret: (status, text) => interpretJson(status, text),
  };
}
