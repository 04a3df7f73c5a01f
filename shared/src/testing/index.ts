import { randomBytes } from 'node:crypto';
import { withPg } from '../services/pg-client';
import type { GatewayConfig, SubgraphServerConfig, WorkerConfig } from '../config';
import { createLogger, type Logger } from '../logger';

/**
 * One isolated world per test file: its own database on the test Postgres server and its own
 * NATS namespace (streams and subjects), so files run in parallel and reruns never see leftovers.
 * scripts/test.ts provides DATABASE_URL and NATS_URL (started locally where none answered).
 */
export interface TestEnv {
  id: string;
  databaseUrl: string;
  natsUrl: string;
  namespace: string;
  gatewaySecret: string;
  operatorToken: string;
  log: Logger;
  subgraphConfig(overrides?: Partial<SubgraphServerConfig>): SubgraphServerConfig;
  workerConfig(overrides?: Partial<WorkerConfig>): WorkerConfig;
  gatewayConfig(urls: Record<'merchant' | 'address' | 'payment' | 'withdrawal' | 'compliance', string>, overrides?: Partial<GatewayConfig>): GatewayConfig;
  /** Drops the database and the namespace's stream. Call in afterAll. */
  cleanup(): Promise<void>;
}

export function baseDatabaseUrl(): string {
  return process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
}

export function withDatabase(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

export async function createTestEnv(): Promise<TestEnv> {
  const id = randomBytes(5).toString('hex');
  const dbName = `cpg_t_${id}`;
  await withPg(baseDatabaseUrl(), (c) => c.query(`create database "${dbName}"`));
  const databaseUrl = withDatabase(baseDatabaseUrl(), dbName);
  const natsUrl = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
  const namespace = `t_${id}`;
  const gatewaySecret = randomBytes(24).toString('hex');
  const operatorToken = `op_${randomBytes(24).toString('hex')}`;
  const log = createLogger('test', process.env.TEST_LOG_LEVEL ?? 'silent');
  const workerConfig = (o: Partial<WorkerConfig> = {}): WorkerConfig => ({
    NODE_ENV: 'test',
    PORT: 0,
    HOST: '127.0.0.1',
    DATABASE_URL: databaseUrl,
    DB_POOL_MAX: 4,
    NATS_URL: natsUrl,
    NATS_NAMESPACE: namespace,
    LOG_LEVEL: 'silent',
    ...o,
  });
  return {
    id,
    databaseUrl,
    natsUrl,
    namespace,
    gatewaySecret,
    operatorToken,
    log,
    workerConfig,
    subgraphConfig(o = {}) {
      return { ...workerConfig(), GATEWAY_SECRET: gatewaySecret, GATEWAY_SIGNATURE_MAX_AGE_SECONDS: 60, ...o };
    },
    gatewayConfig: (urls, o = {}) => ({
      NODE_ENV: 'test',
      GATEWAY_PORT: 0,
      HOST: '127.0.0.1',
      OPERATOR_TOKEN: operatorToken,
      SUBGRAPH_MERCHANT_URL: urls.merchant,
      SUBGRAPH_ADDRESS_URL: urls.address,
      SUBGRAPH_PAYMENT_URL: urls.payment,
      SUBGRAPH_WITHDRAWAL_URL: urls.withdrawal,
      SUBGRAPH_COMPLIANCE_URL: urls.compliance,
      MAX_QUERY_DEPTH: 10,
      MAX_QUERY_COST: 5000,
      RATE_LIMIT_REQUESTS: 1000,
      RATE_LIMIT_WINDOW_SECONDS: 60,
      API_KEY_CACHE_MS: 500,
      NATS_URL: natsUrl,
      NATS_NAMESPACE: namespace,
      LOG_LEVEL: 'silent',
      GATEWAY_SECRET: gatewaySecret,
      GATEWAY_SIGNATURE_MAX_AGE_SECONDS: 60,
      ...o,
    }),
    cleanup: async () => {
      await withPg(baseDatabaseUrl(), (c) => c.query(`drop database if exists "${dbName}" with (force)`));
      const { connect } = await import('nats');
      const nc = await connect({ servers: natsUrl });
      try {
        const jsm = await nc.jetstreamManager();
        await jsm.streams.delete(`${namespace.toUpperCase()}_EVENTS`).catch(() => undefined);
      } finally {
        await nc.close();
      }
    },
  };
}

export interface GraphQLResponse<T = any> {
  status: number;
  data?: T;
  errors?: { message: string; extensions?: { code?: string; [k: string]: unknown } }[];
}

/** A bare HTTP GraphQL client, as a partner's server would call us. */
export async function gql<T = any>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  token?: string,
  headers: Record<string, string> = {},
): Promise<GraphQLResponse<T>> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: T; errors?: GraphQLResponse['errors'] };
  return { status: res.status, data: body.data ?? undefined, errors: body.errors };
}

/** Polls `fn` until it returns a truthy value or `timeoutMs` passes (then throws with `what`). */
export async function eventually<T>(fn: () => Promise<T | undefined | null | false>, what: string, timeoutMs = 10_000, everyMs = 50): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
