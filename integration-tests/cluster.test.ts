import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type TestEnv, createTestEnv, gql } from '@cpg/devkit/testing';
import { type ClusterTopology, startClusterTopology } from '../scripts/cluster/topology';
import { type DevChains, startDevChains } from './support/dev-chains';

// The replicated topology of `npm run start:cluster` (three NATS nodes, two of every service, a
// balancer in front of the gateways), started as real processes: it serves the whole API, and
// killing any one process with SIGKILL leaves the API answering while the supervisor restarts it.
jest.setTimeout(900_000);

const root = path.resolve(__dirname, '..');
let env: TestEnv;
let chains: DevChains;
let dir: string;
let cluster: ClusterTopology;
const tail: string[] = [];

beforeAll(async () => {
  env = await createTestEnv();
  chains = await startDevChains({ exportEnv: true });
  dir = mkdtempSync(path.join(os.tmpdir(), 'cpg-cluster-'));
  cluster = await startClusterTopology({
    root,
    dataDir: dir,
    databaseUrl: env.databaseUrl,
    namespace: env.namespace,
    ports: 'free',
    silent: true,
    env: { LOG_LEVEL: 'warn' },
    log: (line) => tail.push(line),
    onLine: (name, line) => {
      tail.push(`[${name}] ${line}`);
      if (tail.length > 400) tail.splice(0, tail.length - 400);
    },
  });
});

afterAll(async () => {
  await cluster?.stop();
  await chains?.stop();
  await env?.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

let merchantKey = '';

/** The answer's data, or the error it gave. */
async function call(query: string, variables: Record<string, unknown> = {}, token = merchantKey): Promise<any> {
  const r = await gql(cluster.url, query, variables, token);
  if (!r.data || r.errors) throw new Error(`${r.status}: ${JSON.stringify(r.errors)}`);
  return r.data;
}

/** A payment created and read back through the balancer: the write path across gateway, subgraphs, signer and NATS. */
async function createAndRead(): Promise<string> {
  const made = await call('mutation($i: CreatePaymentInput!) { createPayment(input: $i) { id address { address } } }', {
    i: { coinId: 'dev-evm:USDT', amount: '5' },
  });
  const read = await call('query($id: ID!) { payment(id: $id) { id status } }', { id: made.createPayment.id });
  expect(read.payment.status).toBe('PENDING');
  return made.createPayment.id;
}

it('serves the whole API through the balancer', async () => {
  const made = await call('mutation { createMerchant(input: { name: "Cluster shop" }) { merchant { id } secret } }', {}, cluster.operatorToken);
  merchantKey = made.createMerchant.secret;
  await createAndRead();
  const names = cluster.supervisor.names();
  expect(names.filter((n) => n.startsWith('gateway-'))).toHaveLength(2);
  expect(names).toHaveLength(18);
  expect(cluster.nats.nodes).toHaveLength(3);
});

const KILLS = ['gateway-1', 'merchant-1', 'address-1', 'payment-1', 'withdrawal-1', 'compliance-1', 'signer-1', 'tracker-1', 'collector-1', 'nats-1'];

it.each(KILLS)('kill -9 of %s: the API keeps answering and the process comes back', async (name) => {
  const before = name === 'nats-1' ? cluster.nats.nodes[0]!.pid : cluster.supervisor.pid(name);
  if (name === 'nats-1') await cluster.nats.nodes[0]!.kill();
  else cluster.supervisor.kill(name);
  // Right after the kill: five payments written and read back. A request may fail only while a
  // client notices its NATS node is gone (it reconnects within a second); never twice in a row.
  let failures = 0;
  for (let i = 0; i < 5; i++) {
    for (let attempt = 1; ; attempt++) {
      try {
        await createAndRead();
        break;
      } catch (err) {
        failures++;
        if (attempt >= 2) throw new Error(`after killing ${name}: ${(err as Error).message}\n${tail.slice(-30).join('\n')}`);
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }
  expect(failures).toBeLessThanOrEqual(1);
  if (name === 'nats-1') await cluster.nats.nodes[0]!.start();
  await cluster.waitHealthy(120_000);
  if (name === 'nats-1') {
    expect(cluster.nats.nodes[0]!.pid).not.toBe(before);
  } else {
    // At least once: a process may also die while starting again (CI once saw the tracker need two tries).
    expect(cluster.supervisor.restarts(name)).toBeGreaterThanOrEqual(1);
    expect(cluster.supervisor.pid(name)).not.toBe(before);
  }
});
