// Everything the fault-injection suite runs against, all real: a Postgres it starts itself (so it
// may restart it), anvil and litecoind behind seeded RPC fault proxies, the replicated topology of
// `npm run start:cluster` (three NATS nodes, two of every service, a balancer), and a webhook
// receiver that can go down. The suite plays customers, merchants and the operator through the
// balancer, and checks the books in Postgres and on the chains directly.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type EnsuredService, type RpcFaultProxy, ensurePostgres, freePort, startRpcFaultProxy, withPg } from '@cpg/devkit/services';
import { gql } from '@cpg/devkit/testing';
import { type ClusterTopology, startClusterTopology } from '../../../scripts/cluster/topology';
import { type DevChains, startDevChains } from '../../support/dev-chains';

export interface WebhookReceiver {
  url: string;
  /** Event ids received with a 2xx answer, and how often each. */
  received: Map<string, number>;
  /** Closes the listener: deliveries meet a refused connection until up(). */
  down(): Promise<void>;
  up(): Promise<void>;
  stop(): Promise<void>;
}

async function startReceiver(): Promise<WebhookReceiver> {
  const port = await freePort();
  const received = new Map<string, number>();
  let server: http.Server | undefined;
  const listen = async () => {
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        try {
          const id = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { id?: string }).id;
          if (id) received.set(id, (received.get(id) ?? 0) + 1);
        } catch {
          /* counted as not received: the delivery is then not DELIVERED either */
        }
        res.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((resolve) => server!.listen(port, '127.0.0.1', resolve));
  };
  const close = async () => {
    const s = server;
    server = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  };
  await listen();
  return { url: `http://127.0.0.1:${(server!.address() as AddressInfo).port}/hooks`, received, down: close, up: listen, stop: close };
}

export interface World {
  seed: number;
  log: (line: string) => void;
  chains: DevChains;
  evmProxy: RpcFaultProxy;
  ltcProxy: RpcFaultProxy;
  cluster: ClusterTopology;
  receiver: WebhookReceiver;
  databaseUrl(): string;
  /** Stops the suite's Postgres (fast shutdown: every connection cut) and starts it again after `downMs`. */
  restartPostgres(downMs: number): Promise<void>;
  operator<T = any>(query: string, variables?: Record<string, unknown>): Promise<T>;
  as<T = any>(token: string, query: string, variables?: Record<string, unknown>): Promise<T>;
  sql<T = any>(text: string, params?: unknown[]): Promise<T[]>;
  stop(): Promise<void>;
}

/** What the services are told: fast loops, and the compliance thresholds a single test faucet would trip (one sender paying everything). */
const SERVICE_ENV: NodeJS.ProcessEnv = {
  LOG_LEVEL: 'warn',
  // One client (this suite) makes every merchant's and the operator's requests.
  RATE_LIMIT_REQUESTS: '100000',
  WITHDRAWAL_POLL_MS: '300',
  WITHDRAWAL_FUNDS_RETRY_MS: '2000',
  WITHDRAWAL_BATCH_INTERVAL_MS: '300',
  COLLECTOR_TICK_MS: '500',
  TRACKER_LEASE_TTL_MS: '3000',
  WEBHOOK_POLL_MS: '200',
  WEBHOOK_RETRY_JITTER: '0',
  WEBHOOK_RETRY_SCHEDULE_MS: [500, 1000, 2000, 4000, 8000, ...Array(30).fill(10_000)].join(','),
  COMPLIANCE_VELOCITY_MAX: '10000',
  COMPLIANCE_TRAVEL_RULE_USD: '10000000',
  COMPLIANCE_REVIEW_ABOVE_USD: '100000000',
};

export async function startWorld(seed: number, log: (line: string) => void): Promise<World> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cpg-faults-'));
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const s of stops.reverse()) await s().catch((err: Error) => log(`faults: cleanup: ${err.message}`));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    // Our own Postgres, never the machine's: the suite stops and starts it. Its cluster is made by
    // `npm run test:faults` (scripts/test.ts), outside jest, where the embedded package loads.
    const pgDir = process.env.FAULTS_PG_DIR;
    if (!pgDir) throw new Error("run the fault suite with `npm run test:faults` (it prepares the suite's Postgres)");
    const pgOpts = { dataDir: pgDir, port: await freePort(), log: (l: string) => log(`  ${l}`), embedded: true };
    let pg: EnsuredService = await ensurePostgres(pgOpts);
    stops.push(() => pg.stop());

    const chains = await startDevChains({});
    stops.push(() => chains.stop());
    const evmProxy = await startRpcFaultProxy({ target: chains.anvil.rpcUrl, seed, timeoutMs: 8000 });
    const ltcProxy = await startRpcFaultProxy({ target: chains.ltcNode.rpcUrl, seed: seed + 1, timeoutMs: 8000 });
    stops.push(
      () => evmProxy.stop(),
      () => ltcProxy.stop(),
    );
    const receiver = await startReceiver();
    stops.push(() => receiver.stop());

    const lines: string[] = [];
    const cluster = await startClusterTopology({
      root: path.resolve(__dirname, '../../..'),
      dataDir: path.join(dir, 'cluster'),
      databaseUrl: pg.url,
      namespace: 'faults',
      ports: 'free',
      silent: true,
      env: { ...SERVICE_ENV, DEV_EVM_RPC_URL: evmProxy.url, DEV_LTC_RPC_URL: ltcProxy.url },
      log: (l) => log(`  ${l}`),
      onLine: (name, line) => {
        lines.push(`[${name}] ${line}`);
        if (lines.length > 300) lines.splice(0, lines.length - 300);
      },
    });
    stops.push(() => cluster.stop());

    const call = async (token: string, query: string, variables: Record<string, unknown> = {}) => {
      const r = await gql(cluster.url, query, variables, token);
      if (!r.data || r.errors) throw new Error(`${r.status} ${JSON.stringify(r.errors)}`);
      return r.data;
    };
    return {
      seed,
      log,
      chains,
      evmProxy,
      ltcProxy,
      cluster,
      receiver,
      databaseUrl: () => pg.url,
      restartPostgres: async (downMs) => {
        await pg.stop();
        await new Promise((r) => setTimeout(r, downMs));
        pg = await ensurePostgres(pgOpts);
      },
      operator: (query, variables) => call(cluster.operatorToken, query, variables),
      as: call,
      sql: async (text, params = []) => withPg(pg.url, async (c) => (await c.query(text, params)).rows as any[]),
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
