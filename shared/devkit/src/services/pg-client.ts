// `pg` ships no type declarations and @types/pg is not installed: the little we use is typed here.
export interface PgQueryResult<Row = Record<string, unknown>> {
  rows: Row[];
  rowCount: number | null;
}

export interface PgClient {
  connect(): Promise<void>;
  query<Row = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<PgQueryResult<Row>>;
  end(): Promise<void>;
  on(event: 'error', listener: (err: Error) => void): void;
  escapeIdentifier(name: string): string;
}

interface PgClientConfig {
  connectionString: string;
  connectionTimeoutMillis?: number;
  query_timeout?: number;
  application_name?: string;
}

interface PgModule {
  Client: new (config: PgClientConfig) => PgClient;
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const pg = require('pg') as PgModule;

export function pgClient(url: string, timeoutMs = 5000): PgClient {
  const client = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: timeoutMs,
    query_timeout: Math.max(timeoutMs, 30_000),
    application_name: 'cpg-scripts',
  });
  client.on('error', () => undefined); // a dropped connection must not crash the caller
  return client;
}

/** Connects, runs `fn`, always disconnects. */
export async function withPg<T>(url: string, fn: (client: PgClient) => Promise<T>, timeoutMs = 5000): Promise<T> {
  const client = pgClient(url, timeoutMs);
  try {
    await client.connect();
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** True when `url` accepts a connection and answers `select 1` within a short time. */
export async function pgAnswers(url: string, timeoutMs = 2000): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs, query_timeout: timeoutMs });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** The URL with its password hidden, for log lines. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*:)[^@/]*@/i, '$1***@');
}
