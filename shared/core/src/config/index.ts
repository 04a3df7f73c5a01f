import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { z } from 'zod';

/**
 * Config is read once per process, from the environment, through one zod model per concern.
 * A bad or missing value stops the process before it binds a port or opens a connection, with a
 * message naming the variable, so a misconfigured deploy fails loudly instead of half-working.
 */
export class ConfigError extends Error {
  constructor(public readonly issues: string[]) {
    super(`Invalid configuration:\n${issues.map((i) => `  - ${i}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const port = z.coerce.number().int().min(0).max(65535);
const secret = (name: string) => z.string({ required_error: `${name} is required` }).min(16, `${name} must be at least 16 characters`);

/** One http(s) URL or several comma-separated (replicas of one service); at most 16. */
const urlList = z
  .string()
  .max(4096)
  .refine((raw) => {
    const parts = raw.split(',').map((part) => part.trim());
    return parts.length <= 16 && parts.every((part) => /^https?:\/\/[^\s]+$/.test(part) && URL.canParse(part));
  }, 'must be an http(s) URL or a comma-separated list of them');

export const envModel = z.enum(['development', 'test', 'production']).default('development');

export const databaseConfig = z.object({
  DATABASE_URL: z.string({ required_error: 'DATABASE_URL is required' }).regex(/^postgres(ql)?:\/\//, 'DATABASE_URL must be a postgres:// URL'),
  DB_POOL_MAX: z.coerce.number().int().min(1).max(100).default(10),
});

export const natsConfig = z.object({
  /** One nats:// URL, or a cluster's nodes comma-separated (nats://a:4222,nats://b:4222). */
  NATS_URL: z
    .string({ required_error: 'NATS_URL is required' })
    .max(4096)
    .regex(/^nats:\/\/[^,\s]+(\s*,\s*nats:\/\/[^,\s]+)*$/, 'NATS_URL must be a nats:// URL or a comma-separated list of them'),
  /**
   * Copies of the event stream and of the KV buckets (leases, gateway replicas) this deployment
   * creates: 3 (or 5) on a cluster, so losing a node loses no event and no lease; 1 on one server.
   */
  NATS_REPLICAS: z.coerce
    .number()
    .int()
    .refine((n) => n === 1 || n === 3 || n === 5, 'NATS_REPLICAS must be 1, 3 or 5')
    .default(1),
  /** Prefix of every stream and subject; tests use one per run so runs never see each other. */
  NATS_NAMESPACE: z
    .string()
    .regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'NATS_NAMESPACE must be letters, digits and _')
    .default('cpg'),
  /**
   * This service's NATS user and password (docs/nats-permissions.md). Outside development and
   * tests a missing credential stops the process: a production bus is never open. Credentials in
   * NATS_URL (nats://user:pass@host) count as given.
   */
  NATS_USER: z.string().min(1).max(64).optional(),
  NATS_PASSWORD: z.string().min(1).max(512).optional(),
});

export const logConfig = z.object({
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

/** Shared by the gateway (signs) and every subgraph (verifies). */
export const gatewayTrustConfig = z.object({
  GATEWAY_SECRET: secret('GATEWAY_SECRET'),
  /** How old a signed forwarded identity may be; guards against replay of captured requests. */
  GATEWAY_SIGNATURE_MAX_AGE_SECONDS: z.coerce.number().int().min(1).max(3600).default(60),
});

/** Workers (tracker, signer, collector): no GraphQL, a health port, their own schema. */
export const workerConfig = z
  .object({
    NODE_ENV: envModel,
    PORT: port,
    HOST: z.string().default('127.0.0.1'),
  })
  .merge(databaseConfig)
  .merge(natsConfig)
  .merge(logConfig);
export type WorkerConfig = z.infer<typeof workerConfig>;

/** A subgraph is a worker-shaped process that also verifies the gateway's signature. */
export const subgraphServerConfig = workerConfig.merge(gatewayTrustConfig);
export type SubgraphServerConfig = z.infer<typeof subgraphServerConfig>;

export const gatewayConfig = z
  .object({
    NODE_ENV: envModel,
    GATEWAY_PORT: port.default(4000),
    HOST: z.string().default('127.0.0.1'),
    OPERATOR_TOKEN: secret('OPERATOR_TOKEN'),
    // Each one URL, or a subgraph's replicas comma-separated (the gateway fails over between them).
    SUBGRAPH_MERCHANT_URL: urlList,
    SUBGRAPH_ADDRESS_URL: urlList,
    SUBGRAPH_PAYMENT_URL: urlList,
    SUBGRAPH_WITHDRAWAL_URL: urlList,
    SUBGRAPH_COMPLIANCE_URL: urlList,
    // Query limits (docs/limits.md): checked before anything reaches a subgraph.
    MAX_QUERY_DEPTH: z.coerce.number().int().min(2).max(50).default(10),
    /** The most objects an operation may return in the worst case: lists count their page or maximum size. */
    MAX_QUERY_COST: z.coerce.number().int().min(10).default(50_000),
    MAX_QUERY_ALIASES: z.coerce.number().int().min(0).max(1000).default(30),
    /** Lexical tokens of the whole document (parser limit), so a huge document is not even parsed. */
    MAX_QUERY_TOKENS: z.coerce.number().int().min(100).max(100_000).default(2000),
    MAX_QUERY_DIRECTIVES: z.coerce.number().int().min(0).max(1000).default(20),
    /** Schema introspection; unset: on, except with NODE_ENV=production. */
    GRAPHQL_INTROSPECTION: z.enum(['true', 'false']).optional(),
    /**
     * Load balancers whose X-Forwarded-For is believed, besides loopback: comma-separated addresses
     * or CIDRs (10.0.0.0/8). Unset behind a remote balancer, every client would share its address.
     */
    TRUSTED_PROXIES: z
      .string()
      .max(4096)
      .default('')
      .transform((raw) =>
        raw
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      )
      .refine(
        (list) =>
          list.length <= 64 &&
          list.every((entry) => {
            const [ip = '', bits, extra] = entry.split('/');
            const family = isIP(ip);
            if (!family || extra !== undefined) return false;
            return bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128));
          }),
        'TRUSTED_PROXIES must be comma-separated IP addresses or CIDRs (at most 64)',
      ),
    /** Requests per caller (API key, operator, or client IP) per window; above it: RATE_LIMITED. */
    RATE_LIMIT_REQUESTS: z.coerce.number().int().min(1).default(300),
    /** Query cost per caller per window: each request is charged its computed cost. */
    RATE_LIMIT_COST: z.coerce.number().int().min(1).default(500_000),
    RATE_LIMIT_WINDOW_SECONDS: z.coerce.number().int().min(1).default(60),
    /** Failed authentications per client IP per window; then that IP's credentials get RATE_LIMITED. */
    AUTH_FAILURE_LIMIT: z.coerce.number().int().min(1).default(20),
    /** Callers tracked at once by each limiter; the least recently seen is forgotten first. */
    RATE_LIMIT_MAX_KEYS: z.coerce.number().int().min(100).default(50_000),
    /**
     * Gateway replicas share the rate limits (each enforces limit/N of the live N); a replica that
     * stops heartbeating is counted out after this long. Unset: 10,000 ms.
     */
    RATE_LIMIT_PEER_TTL_MS: z.coerce.number().int().min(300).max(600_000).optional(),
    /** graphql-ws: largest message accepted (bytes); a bigger one closes the socket (1009). */
    WS_MAX_MESSAGE_BYTES: z.coerce
      .number()
      .int()
      .min(1024)
      .max(16 * 1024 * 1024)
      .default(65_536),
    WS_MAX_SUBSCRIPTIONS_PER_CONNECTION: z.coerce.number().int().min(1).max(1000).default(20),
    WS_MAX_CONNECTIONS_PER_IP: z.coerce.number().int().min(1).default(100),
    /** How long a verified API key is trusted without asking the merchant service again. */
    API_KEY_CACHE_MS: z.coerce.number().int().min(0).max(1000).default(500),
  })
  .merge(natsConfig)
  .merge(logConfig)
  .merge(gatewayTrustConfig);
export type GatewayConfig = z.infer<typeof gatewayConfig>;

/** Secrets in files are read only up to this size: a mistaken path to a big file fails fast. */
const SECRET_FILE_MAX_BYTES = 64 * 1024;

/**
 * `X_FILE=/run/secrets/x` stands for `X=<that file's content>` (trailing newline dropped), so every
 * secret can come from a mounted file instead of the environment (docker/compose secrets). Giving
 * both X and X_FILE is an error: which one wins would be a guess.
 */
export function resolveFileVariables(
  env: Record<string, string | undefined>,
  names: ReadonlySet<string>,
): { env: Record<string, string | undefined>; issues: string[] } {
  const out: Record<string, string | undefined> = { ...env };
  const issues: string[] = [];
  for (const [key, file] of Object.entries(env)) {
    if (!key.endsWith('_FILE') || !file) continue;
    const name = key.slice(0, -'_FILE'.length);
    // Only the model's own variables: the environment holds other programs' *_FILE settings too.
    if (!names.has(name)) continue;
    if (env[name] !== undefined && env[name] !== '') {
      issues.push(`${name}: set either ${name} or ${key}, not both`);
      continue;
    }
    try {
      const buf = readFileSync(file);
      if (buf.length > SECRET_FILE_MAX_BYTES) throw new Error(`larger than ${SECRET_FILE_MAX_BYTES} bytes`);
      out[name] = buf.toString('utf8').replace(/\r?\n$/, '');
    } catch (err) {
      issues.push(`${key}: cannot read ${file} (${(err as Error).message.split('\n')[0]})`);
    }
  }
  return { env: out, issues };
}

/** The variable names a model reads (objects, merged objects, refined objects). */
function modelKeys(model: z.ZodTypeAny): Set<string> {
  let m: z.ZodTypeAny = model;
  while (m instanceof z.ZodEffects) m = m.innerType();
  return m instanceof z.ZodObject ? new Set(Object.keys(m.shape as object)) : new Set();
}

/** A production process never runs on an unauthenticated bus. */
function natsCredentialIssues(c: Record<string, unknown>): string[] {
  if (c.NODE_ENV !== 'production' || typeof c.NATS_URL !== 'string') return [];
  let inUrl = false;
  try {
    inUrl = c.NATS_URL.split(',').some((part) => !!new URL(part.trim()).password);
  } catch {
    // NATS_URL's own rule reports a bad URL
  }
  if (inUrl || (c.NATS_USER && c.NATS_PASSWORD)) return [];
  return ['NATS_USER and NATS_PASSWORD (or NATS_PASSWORD_FILE) are required in production: the bus must authenticate every service'];
}

/** Validates `env` against `model`; throws ConfigError naming every bad variable. */
export function parseConfig<M extends z.ZodTypeAny>(model: M, rawEnv: Record<string, string | undefined> = process.env): z.infer<M> {
  const { env, issues } = resolveFileVariables(rawEnv, modelKeys(model));
  const result = model.safeParse(env);
  if (result.success && issues.length === 0) {
    const more = natsCredentialIssues(result.data as Record<string, unknown>);
    if (more.length) throw new ConfigError(more);
    return result.data;
  }
  throw new ConfigError([
    ...issues,
    ...(result.success
      ? []
      : result.error.issues.map((issue) => {
          const name = issue.path.join('.') || '(root)';
          return issue.message.includes(name) ? issue.message : `${name}: ${issue.message}`;
        })),
  ]);
}

/** For process entry points: on a bad config print the reason and exit(1) before doing anything. */
export function loadConfigOrExit<M extends z.ZodTypeAny>(model: M, env: Record<string, string | undefined> = process.env): z.infer<M> {
  try {
    return parseConfig(model, env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}
