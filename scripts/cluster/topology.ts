// The replicated topology of `npm run start:cluster`, also started by tests: a three-node NATS
// JetStream cluster (stream and KV buckets with three copies), `replicas` instances of every
// subgraph and worker and of the gateway, each supervised (restarted with backoff when it dies),
// and a balancer in front of the gateways. Every process gets only its own secrets.
import path from 'node:path';
import { type NatsClusterHandle, type NatsCredentials, freePort, loadOrCreateCredentials, startNatsCluster } from '@cpg/devkit/services';
import { processes, type ProcessSpec } from '../processes';
import { type StackSecrets, devSecret, secretsOf, waitForHttp200, withoutSecrets } from '../stack-env';
import { type Balancer, startBalancer } from './balancer';
import { Supervisor } from './supervisor';

const HOST = '127.0.0.1';

export interface ClusterTopologyOptions {
  root: string;
  /** NATS stores (`nats/node-N`), credentials and dev secrets. */
  dataDir: string;
  databaseUrl: string;
  namespace: string;
  log: (line: string) => void;
  /** 'fixed': the balancer on 4000 and replica i of a process on its port + 100·i; 'free': any free ports (tests). */
  ports: 'fixed' | 'free';
  /** Instances of each process; default 2. */
  replicas?: number;
  /** Added to every process's environment (LOG_LEVEL, DEV_EVM_RPC_URL, ...); never secrets. */
  env?: NodeJS.ProcessEnv;
  /** Hide the processes' output (tests); `onLine` still sees it. */
  silent?: boolean;
  onLine?: (name: string, line: string) => void;
  readyTimeoutMs?: number;
}

export interface ClusterInstance {
  name: string;
  process: ProcessSpec;
  replica: number;
  port: number;
}

export interface ClusterTopology {
  /** The balancer's GraphQL URL: the one address clients use. */
  url: string;
  instances: ClusterInstance[];
  nats: NatsClusterHandle;
  supervisor: Supervisor;
  operatorToken: string;
  /** Every NATS user's password (the admin's reads leases and streams in tests). */
  credentials: NatsCredentials;
  /** Waits until every instance answers its health URL again (after a kill). */
  waitHealthy(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

function healthUrl(instance: ClusterInstance): string {
  return `http://${HOST}:${instance.port}/${instance.process.kind === 'gateway' ? 'readyz' : 'healthz'}`;
}

export async function startClusterTopology(opts: ClusterTopologyOptions): Promise<ClusterTopology> {
  const replicas = opts.replicas ?? 2;
  const readyTimeoutMs = opts.readyTimeoutMs ?? 120_000;
  const credentials = await loadOrCreateCredentials(path.join(opts.dataDir, 'nats', 'credentials.json'));
  opts.log('cluster: starting a 3-node NATS JetStream cluster');
  const nats = await startNatsCluster({
    storeDir: path.join(opts.dataDir, 'nats'),
    auth: { namespace: opts.namespace, credentials },
    ports: opts.ports === 'fixed' ? [4231, 4232, 4233] : undefined,
    detached: true,
    log: opts.log,
  });
  const secrets: StackSecrets = {
    credentials,
    operatorToken: devSecret(opts.dataDir, 'OPERATOR_TOKEN', 'operator-token'),
    gatewaySecret: devSecret(opts.dataDir, 'GATEWAY_SECRET', 'gateway-secret'),
    keyEncryptionKey: devSecret(opts.dataDir, 'KEY_ENCRYPTION_KEY', 'key-encryption-key', 32),
  };
  const common: NodeJS.ProcessEnv = {
    ...withoutSecrets(process.env),
    ...opts.env,
    DATABASE_URL: opts.databaseUrl,
    NATS_URL: nats.url,
    NATS_REPLICAS: '3',
    NATS_NAMESPACE: opts.namespace,
    NODE_ENV: opts.env?.NODE_ENV ?? 'development',
    HOST,
  };

  const instances: ClusterInstance[] = [];
  for (const spec of processes) {
    for (let r = 1; r <= replicas; r++) {
      const port = opts.ports === 'fixed' ? spec.port + 100 * r : await freePort();
      instances.push({ name: `${spec.name}-${r}`, process: spec, replica: r, port });
    }
  }
  const supervisor = new Supervisor({ log: opts.log, silent: opts.silent, onLine: opts.onLine });
  let balancer: Balancer | undefined;
  const stop = async () => {
    await balancer?.stop();
    // Gateways first, so no request reaches a subgraph that is going away; NATS last.
    await supervisor.stopAll(10_000, (names) => [names.filter((n) => n.startsWith('gateway-')), names.filter((n) => !n.startsWith('gateway-'))]);
    await nats.stop();
  };
  const launch = (instance: ClusterInstance, extra: NodeJS.ProcessEnv = {}) =>
    supervisor.add({
      name: instance.name,
      command: process.execPath,
      args: ['--import', 'tsx', instance.process.entry],
      cwd: opts.root,
      env: { ...common, ...secretsOf(instance.process.name, secrets), ...extra, PORT: String(instance.port) },
      healthUrl: healthUrl(instance),
    });
  const waitHealthy = async (list: ClusterInstance[], timeoutMs = readyTimeoutMs) => {
    const late = (
      await Promise.all(list.map(async (i) => ((await waitForHttp200(i.name, healthUrl(i), timeoutMs, { log: opts.log })) ? undefined : i.name)))
    ).filter(Boolean);
    if (late.length) throw new Error(`cluster: no healthy answer within ${timeoutMs / 1000} s from ${late.join(', ')}`);
  };

  try {
    const backends = instances.filter((i) => i.process.kind !== 'gateway');
    opts.log(`cluster: starting ${backends.length} subgraph and worker instances (${replicas} of each)`);
    for (const instance of backends) launch(instance);
    await waitHealthy(backends);
    const subgraphUrls: NodeJS.ProcessEnv = {};
    for (const spec of processes.filter((p) => p.kind === 'subgraph')) {
      subgraphUrls[`SUBGRAPH_${spec.name.toUpperCase()}_URL`] = backends
        .filter((i) => i.process === spec)
        .map((i) => `http://${HOST}:${i.port}/graphql`)
        .join(',');
    }
    const gateways = instances.filter((i) => i.process.kind === 'gateway');
    opts.log(`cluster: starting ${gateways.length} gateways`);
    for (const g of gateways) launch(g, { ...subgraphUrls, GATEWAY_PORT: String(g.port) });
    await waitHealthy(gateways);
    balancer = await startBalancer({ host: HOST, port: opts.ports === 'fixed' ? 4000 : 0, targets: gateways.map((g) => g.port), log: opts.log });
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
  return {
    url: `${balancer.url}/graphql`,
    instances,
    nats,
    supervisor,
    operatorToken: secrets.operatorToken,
    credentials,
    waitHealthy: (timeoutMs) => waitHealthy(instances, timeoutMs),
    stop,
  };
}
