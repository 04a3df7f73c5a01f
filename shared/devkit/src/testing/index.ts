import { randomBytes } from 'node:crypto';
import { withPg } from '../services/pg-client';
import type { GatewayConfig, SubgraphServerConfig, WorkerConfig } from '@cpg/core/config';
import type { BusUser } from '@cpg/core/bus/permissions';
import { createLogger, type Logger } from '@cpg/core/logger';

/**
 * One isolated world per test file: its own database on the test Postgres server and its own
 * NATS namespace (streams and subjects), so files run in parallel and reruns never see leftovers.
 * scripts/test.ts provides DATABASE_URL and NATS_URL (started locally where none answered).
 */
export interface TestEnv {
  id: string;
  databaseUrl: string;
  /** The tests' NATS as the admin (credentials in the URL). */
  natsUrl: string;
  /** The same server without credentials: connect with busAuth(user) to act as one user. */
  natsServerUrl: string;
  namespace: string;
  gatewaySecret: string;
  operatorToken: string;
  log: Logger;
  /**
   * NATS_USER / NATS_PASSWORD of one bus user on the tests' nats-server (scripts/test.ts runs it
   * with the project's permissions and passes every password); empty on an open server (jest run
   * by hand against a NATS without auth). Configs default to `admin`: a stack gives each service
   * its own user, so the permission table is what the tests run under.
   */
  natsAuth(user: BusUser): { NATS_USER?: string; NATS_PASSWORD?: string };
  /** Options for Bus.connect as `user` (default admin): a test playing a service, or checking what it may not do. */
  busAuth(user?: BusUser): { user?: string; pass?: string };
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

/** Passwords of the tests' nats-server users, from scripts/test.ts; undefined on an open server. */
export function testNatsCredentials(): Partial<Record<BusUser, string>> | undefined {
  const raw = process.env.NATS_TEST_CREDENTIALS;
  if (!raw) return undefined;
  return JSON.parse(raw) as Partial<Record<BusUser, string>>;
}

function natsAuthOf(user: BusUser): { NATS_USER?: string; NATS_PASSWORD?: string } {
  const pass = testNatsCredentials()?.[user];
  return pass ? { NATS_USER: user, NATS_PASSWORD: pass } : {};
}

function withNatsCredentials(url: string, auth: { NATS_USER?: string; NATS_PASSWORD?: string }): string {
  if (!auth.NATS_USER || !auth.NATS_PASSWORD) return url;
  const u = new URL(url);
  u.username = encodeURIComponent(auth.NATS_USER);
  u.password = encodeURIComponent(auth.NATS_PASSWORD);
  return u.toString().replace(/\/$/, '');
}

export async function createTestEnv(): Promise<TestEnv> {
  const id = randomBytes(5).toString('hex');
  const dbName = `cpg_t_${id}`;
  await withPg(baseDatabaseUrl(), (c) => c.query(`create database "${dbName}"`));
  const databaseUrl = withDatabase(baseDatabaseUrl(), dbName);
  // With the admin's credentials in it: tests that connect on their own (playing a service,
  // watching the bus, cleaning up) are the operator's tools; the services get their own users.
  const natsUrl = withNatsCredentials(process.env.NATS_URL ?? 'nats://127.0.0.1:4222', natsAuthOf('admin'));
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
    NATS_REPLICAS: 1,
    LOG_LEVEL: 'silent',
    ...natsAuthOf('admin'),
    ...o,
  });
  return {
    id,
    databaseUrl,
    natsUrl,
    natsServerUrl: process.env.NATS_URL ?? 'nats://127.0.0.1:4222',
    namespace,
    gatewaySecret,
    operatorToken,
    log,
    natsAuth: natsAuthOf,
    busAuth: (user = 'admin') => {
      const a = natsAuthOf(user);
      return a.NATS_USER ? { user: a.NATS_USER, pass: a.NATS_PASSWORD } : {};
    },
    workerConfig,
    subgraphConfig(o = {}) {
      return { ...workerConfig(), GATEWAY_SECRET: gatewaySecret, GATEWAY_SIGNATURE_MAX_AGE_SECONDS: 60, ...o };
    },
    gatewayConfig: (urls, o = {}) => ({
      NODE_ENV: 'test',
      GATEWAY_PORT: 0,
      HOST: '127.0.0.1',
      OPERATOR_TOKEN: operatorToken,
      NATS_REPLICAS: 1,
      TRUSTED_PROXIES: [],
      SUBGRAPH_MERCHANT_URL: urls.merchant,
      SUBGRAPH_ADDRESS_URL: urls.address,
      SUBGRAPH_PAYMENT_URL: urls.payment,
      SUBGRAPH_WITHDRAWAL_URL: urls.withdrawal,
      SUBGRAPH_COMPLIANCE_URL: urls.compliance,
      MAX_QUERY_DEPTH: 10,
      MAX_QUERY_COST: 50_000,
      MAX_QUERY_ALIASES: 30,
      MAX_QUERY_TOKENS: 2000,
      MAX_QUERY_DIRECTIVES: 20,
      GRAPHQL_INTROSPECTION: undefined,
      RATE_LIMIT_REQUESTS: 1000,
      // Test files share one operator bucket per stack: room for many expensive reads.
      RATE_LIMIT_COST: 10_000_000,
      RATE_LIMIT_WINDOW_SECONDS: 60,
      AUTH_FAILURE_LIMIT: 1000,
      RATE_LIMIT_MAX_KEYS: 50_000,
      WS_MAX_MESSAGE_BYTES: 65_536,
      WS_MAX_SUBSCRIPTIONS_PER_CONNECTION: 20,
      WS_MAX_CONNECTIONS_PER_IP: 1000,
      API_KEY_CACHE_MS: 500,
      NATS_URL: natsUrl,
      NATS_NAMESPACE: namespace,
      LOG_LEVEL: 'silent',
      ...natsAuthOf('gateway'),
      GATEWAY_SECRET: gatewaySecret,
      GATEWAY_SIGNATURE_MAX_AGE_SECONDS: 60,
      ...o,
    }),
    cleanup: async () => {
      await withPg(baseDatabaseUrl(), (c) => c.query(`drop database if exists "${dbName}" with (force)`));
      const { connect } = await import('nats');
      const admin = natsAuthOf('admin');
      const nc = await connect({
        servers: process.env.NATS_URL ?? 'nats://127.0.0.1:4222',
        ...(admin.NATS_USER ? { user: admin.NATS_USER, pass: admin.NATS_PASSWORD } : {}),
      });
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
export { type ReplicaOrms, replicaOrms } from './replicas';
