import type { RpcEndpointConfig } from '../types';

/** An endpoint ready to be fetched: credentials moved into headers, a label safe to show anywhere. */
export interface PreparedEndpoint {
  index: number;
  config: RpcEndpointConfig;
  /** The URL without userinfo (fetch refuses URLs that carry credentials). */
  url: URL;
  /** What errors, health snapshots and callbacks show instead of the URL. */
  label: string;
  headers: Record<string, string>;
  /** Strings that must never appear in a message we produce (scrubbed by `scrub`). */
  secrets: string[];
}

// Providers put API keys in the path (Infura /v3/<key>, Alchemy /v2/<key>, QuickNode /<token>/)
// or in the query; a long opaque segment is treated as a key.
const KEY_LIKE_SEGMENT = /^[^/]{16,}$/;
// Short secrets would mangle ordinary words in messages when scrubbed, and are not worth hiding.
const MIN_SCRUB_LENGTH = 4;

/**
 * A URL fit for logs: no userinfo, no query or fragment, key-like path segments masked. Called
 * for every endpoint label; pure and idempotent. Unparseable input gives a fixed placeholder,
 * never the input, since it may contain credentials.
 */
export function redactUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return '<invalid url>';
  }
  const userinfo = url.username || url.password ? '***@' : '';
  const path = url.pathname
    .split('/')
    .map((segment) => (KEY_LIKE_SEGMENT.test(segment) ? '***' : segment))
    .join('/');
  const query = url.search || url.hash ? '?***' : '';
  return `${url.protocol}//${userinfo}${url.host}${path === '/' ? '' : path}${query}`;
}

/**
 * Normalises one configured endpoint. Called once per endpoint when a pool is created; pure and
 * idempotent. Throws on a URL that cannot be parsed, without echoing it.
 */
export function prepareEndpoint(config: RpcEndpointConfig, index: number): PreparedEndpoint {
  let url: URL;
  try {
    url = new URL(config.url);
  } catch {
    throw new Error(`RPC endpoint #${index} has an invalid URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`RPC endpoint #${index}: only http(s) URLs are supported, got ${url.protocol}`);
  const label = redactUrl(config.url);
  const urlUser = decodeURIComponent(url.username);
  const urlPassword = decodeURIComponent(url.password);
  url.username = '';
  url.password = '';
  const username = config.username ?? urlUser;
  const password = config.password ?? urlPassword;

  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
  if (username || password) headers.authorization = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
  // Lower-cased so that a configured "Authorization" replaces ours instead of being sent alongside it.
  for (const [name, value] of Object.entries(config.headers ?? {})) headers[name.toLowerCase()] = value;

  const secrets = [password, urlPassword, headers.authorization ?? '', ...Object.values(config.headers ?? {})];
  for (const segment of url.pathname.split('/')) if (KEY_LIKE_SEGMENT.test(segment)) secrets.push(segment);
  for (const value of url.searchParams.values()) secrets.push(value);
  return { index, config, url, label, headers, secrets: [...new Set(secrets.filter((s) => s.length >= MIN_SCRUB_LENGTH))] };
}

/**
 * Masks an endpoint's secrets in a message built from third-party text (fetch error causes, node
 * messages), which we do not control. Called on every message that leaves the pool; idempotent.
 */
export function scrub(message: string, endpoint: Pick<PreparedEndpoint, 'secrets'>): string {
  let out = message;
  for (const secret of endpoint.secrets) out = out.split(secret).join('***');
  return out;
}

/**
 * Joins a Tron-style API path onto the endpoint URL, keeping a base path (and a key in it) intact.
 * Called for every `post` attempt; pure and idempotent.
 */
export function joinPath(base: URL, path: string): URL {
  const url = new URL(base.toString());
  const [pathname = '', query] = path.split('?', 2);
  url.pathname = `${base.pathname.replace(/\/+$/, '')}/${pathname.replace(/^\/+/, '')}`;
  if (query) for (const [name, value] of new URLSearchParams(query)) url.searchParams.append(name, value);
  return url;
}
