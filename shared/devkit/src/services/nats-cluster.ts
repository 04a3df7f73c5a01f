import path from 'node:path';
import type { NatsCredentials } from '@cpg/core/bus/nats-auth';
import { connect } from 'nats';
import { type NatsServerHandle, startNatsServer } from './nats-server';
import { freePort, sleep } from './tcp';

export interface NatsClusterHandle {
  /** Every node's client URL, comma-separated: what NATS_URL takes for a cluster. */
  url: string;
  nodes: NatsServerHandle[];
  /** Stops every node (SIGTERM), in reverse order. */
  stop(): Promise<void>;
}

export interface StartNatsClusterOptions {
  /** Nodes, 3 by default (JetStream needs a majority: 3 survive the loss of one). */
  size?: number;
  /** node-N stores under `<storeDir>/node-N`. */
  storeDir: string;
  auth: { namespace: string; credentials: NatsCredentials; bcryptCost?: number };
  /** Client ports, one per node; default free ports (kept across a node's restart). */
  ports?: number[];
  clusterName?: string;
  detached?: boolean;
  log?: (line: string) => void;
  /** How long to wait for JetStream to elect its meta leader; default 30 s. */
  readyTimeoutMs?: number;
}

/**
 * A JetStream cluster of `size` nats-server processes on 127.0.0.1, each with its own store and
 * the project's users, routed to each other. Resolves once the nodes answer and JetStream has a
 * leader (a stream can be created), so services started next find a working cluster.
 */
export async function startNatsCluster(opts: StartNatsClusterOptions): Promise<NatsClusterHandle> {
  const size = opts.size ?? 3;
  const ports = opts.ports ?? (await Promise.all(Array.from({ length: size }, () => freePort())));
  const routePorts = await Promise.all(Array.from({ length: size }, () => freePort()));
  const routes = routePorts.map((p) => `127.0.0.1:${p}`);
  const nodes: NatsServerHandle[] = [];
  try {
    // Every node is started before any is waited on: a node alone cannot form the cluster.
    const started = await Promise.all(
      ports.map((port, i) =>
        startNatsServer({
          port,
          storeDir: path.join(opts.storeDir, `node-${i + 1}`),
          detached: opts.detached,
          auth: opts.auth,
          cluster: { name: opts.clusterName ?? 'cpg', serverName: `n${i + 1}`, listen: routes[i]!, routes: routes.filter((_, j) => j !== i) },
        }),
      ),
    );
    nodes.push(...started);
    await waitForJetStream(started.map((n) => n.url).join(','), opts.auth.credentials.admin, opts.readyTimeoutMs ?? 30_000, opts.log);
  } catch (err) {
    await Promise.all(nodes.map((n) => n.stop().catch(() => undefined)));
    throw err;
  }
  opts.log?.(`nats: cluster of ${size} nodes up (${nodes.map((n) => n.port).join(', ')}; routes ${routePorts.join(', ')})`);
  return {
    url: nodes.map((n) => n.url).join(','),
    nodes,
    stop: async () => {
      for (const node of [...nodes].reverse()) await node.stop().catch(() => undefined);
    },
  };
}

/** Until the JetStream API answers account info through any node (a meta leader exists). */
async function waitForJetStream(servers: string, adminPassword: string, timeoutMs: number, log?: (line: string) => void): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const nc = await connect({ servers: servers.split(','), user: 'admin', pass: adminPassword, timeout: 2000 });
      try {
        const jsm = await nc.jetstreamManager({ timeout: 2000 });
        await jsm.getAccountInfo();
        return;
      } finally {
        await nc.close();
      }
    } catch (err) {
      if ((err as Error).message !== last) log?.(`nats: cluster not ready yet (${(err as Error).message})`);
      last = (err as Error).message;
    }
    await sleep(250);
  }
  throw new Error(`nats cluster: JetStream did not answer within ${timeoutMs / 1000} s (${last})`);
}
