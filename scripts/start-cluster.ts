// `npm run start:cluster`: the replicated topology on this machine (scripts/cluster/topology.ts):
// Postgres (the machine's or embedded under .data/), the dev chains, a 3-node NATS JetStream
// cluster, two of every service, each restarted with backoff when it dies, and a balancer on port
// 4000 in front of the two gateways. Ctrl-C stops all of it. Not together with `npm start` (same ports).
import path from 'node:path';
import { ensurePostgres, isTcpOpen, reapRecordedChildren, recordChildrenIn, type EnsuredService } from '@cpg/devkit/services';
import { startClusterTopology, type ClusterTopology } from './cluster/topology';
import { startDevChains } from './dev-chains';

const root = path.resolve(__dirname, '..');
const dataDir = process.env.CPG_DATA_DIR ? path.resolve(process.env.CPG_DATA_DIR) : path.join(root, '.data');
const log = (line: string) => console.log(line);
const services: EnsuredService[] = [];
let topology: ClusterTopology | undefined;
let shuttingDown = false;

async function shutdown(code: number, reason?: string): Promise<void> {
  if (shuttingDown) return;
  shuttingDown = true;
  if (reason) log(reason);
  await topology?.stop().catch((err: Error) => log(`could not stop the cluster: ${err.message}`));
  for (const service of [...services].reverse()) await service.stop().catch((err: Error) => log(`could not stop a service: ${err.message}`));
  process.exit(code);
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => void shutdown(0, shuttingDown ? undefined : `${signal} received`));

async function main(): Promise<void> {
  const childrenFile = path.join(dataDir, 'cluster-children.json');
  await reapRecordedChildren(childrenFile, log);
  if (await isTcpOpen('127.0.0.1', 4000)) throw new Error('start:cluster: port 4000 is in use; is `npm start` or another cluster running?');
  recordChildrenIn(childrenFile);
  services.push(await ensurePostgres({ dataDir: path.join(dataDir, 'pg'), log }));
  if (process.env.DEV_CHAINS !== '0' && process.env.DEV_CHAINS !== 'false') {
    for (const chain of await startDevChains(dataDir, log, { autoMine: true })) services.push({ url: chain.name, started: true, stop: chain.stop });
  }
  if (shuttingDown) return;
  topology = await startClusterTopology({
    root,
    dataDir: path.join(dataDir, 'cluster'),
    databaseUrl: services[0]!.url,
    namespace: process.env.NATS_NAMESPACE ?? 'cpg',
    log,
    ports: 'fixed',
  });
  const rule = '─'.repeat(72);
  log(
    [
      '',
      rule,
      '  Crypto Payment Gateway is running replicated (2 of every service, 3 NATS nodes)',
      '',
      `  GraphQL (HTTP and graphql-ws, balanced):  ${topology.url}`,
      `  Operator token:                           ${topology.operatorToken}`,
      `  Gateways: ${topology.instances
        .filter((i) => i.process.kind === 'gateway')
        .map((i) => i.port)
        .join(', ')}; NATS: ${topology.nats.url}`,
      '',
      '  A process that dies is restarted with backoff; the others keep serving. Ctrl-C stops everything.',
      rule,
      '',
    ].join('\n'),
  );
}

main().catch((err: Error) => void shutdown(1, err?.message ?? String(err)));
