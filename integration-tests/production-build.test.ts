// The production path, run here without Docker (issue 18): compile every process with
// scripts/build.ts, install production dependencies only into a temporary directory, start the
// nine processes from it with `node` (NODE_ENV=production, one NATS user each), and take a
// payment through it on the dev EVM chain.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { BusUser } from '@cpg/core/bus/permissions';
import { freePort, waitForTcp } from '@cpg/devkit/services';
import { type TestEnv, createTestEnv, eventually, gql } from '@cpg/devkit/testing';
import { type BuildResult, DEV_ONLY_PACKAGES, buildProduction } from '../scripts/build';
import { type DevChains, startDevChains } from './support/dev-chains';

jest.setTimeout(180_000);

const SERVICES: { name: BusUser; entry: string; subgraph?: boolean }[] = [
  { name: 'merchant', entry: 'subgraphs/merchant/src/index.js', subgraph: true },
  { name: 'address', entry: 'subgraphs/address/src/index.js', subgraph: true },
  { name: 'payment', entry: 'subgraphs/payment/src/index.js', subgraph: true },
  { name: 'withdrawal', entry: 'subgraphs/withdrawal/src/index.js', subgraph: true },
  { name: 'compliance', entry: 'subgraphs/compliance/src/index.js', subgraph: true },
  { name: 'signer', entry: 'workers/signer/src/index.js' },
  { name: 'tracker', entry: 'workers/tracker/src/index.js' },
  { name: 'collector', entry: 'workers/collector/src/index.js' },
];

let out: string;
let built: BuildResult;
let env: TestEnv;
let chains: DevChains;
let gatewayUrl: string;
const children: { name: string; proc: ChildProcess; output: string[] }[] = [];

function start(name: string, entry: string, own: Record<string, string>): void {
  // A clean environment: only what a container would be given, no test runner variables.
  const proc = spawn(process.execPath, [path.join(out, entry)], {
    cwd: out,
    env: { PATH: process.env.PATH ?? '', HOME: tmpdir(), ...own },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const keep = (b: Buffer) => {
    output.push(b.toString());
    if (output.length > 200) output.shift();
  };
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  children.push({ name, proc, output });
}

async function waitHttp(url: string, what: string): Promise<void> {
  await eventually(
    async () => {
      const dead = children.find((c) => c.proc.exitCode !== null);
      if (dead) throw new Error(`${dead.name} exited (${dead.proc.exitCode}):\n${dead.output.join('').slice(-3000)}`);
      const res = await fetch(url).catch(() => undefined);
      return res?.status === 200;
    },
    what,
    60_000,
  );
}

beforeAll(async () => {
  out = mkdtempSync(path.join(tmpdir(), 'cpg-dist-'));
  built = await buildProduction(out);
  execFileSync('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: out, stdio: 'pipe' });
  [env, chains] = await Promise.all([createTestEnv(), startDevChains()]);

  const gatewaySecret = randomBytes(24).toString('hex');
  const common = {
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    DATABASE_URL: env.databaseUrl,
    NATS_URL: env.natsServerUrl,
    NATS_NAMESPACE: env.namespace,
    DEV_EVM_RPC_URL: chains.anvil.rpcUrl,
    DEV_LTC_RPC_URL: chains.ltcNode.rpcUrl,
    DEV_CONFIRMATIONS: '1',
  };
  const urls: Record<string, string> = {};
  for (const s of SERVICES) {
    const port = await freePort();
    const own: Record<string, string> = { ...common, PORT: String(port), ...(env.natsAuth(s.name) as Record<string, string>) };
    if (s.subgraph) {
      own.GATEWAY_SECRET = gatewaySecret;
      urls[`SUBGRAPH_${s.name.toUpperCase()}_URL`] = `http://127.0.0.1:${port}/graphql`;
    }
    if (s.name === 'signer') Object.assign(own, { KEY_ENCRYPTION_KEY: randomBytes(32).toString('hex'), KEY_ENCRYPTION_KEY_ID: '1' });
    start(s.name, s.entry, own);
    await waitForTcp('127.0.0.1', port, 60_000).catch(() => undefined);
    await waitHttp(`http://127.0.0.1:${port}/healthz`, `${s.name} healthy`);
  }
  const gatewayPort = await freePort();
  start('gateway', 'gateway/src/index.js', {
    ...common,
    ...(env.natsAuth('gateway') as Record<string, string>),
    ...urls,
    GATEWAY_PORT: String(gatewayPort),
    GATEWAY_SECRET: gatewaySecret,
    OPERATOR_TOKEN: env.operatorToken,
  });
  gatewayUrl = `http://127.0.0.1:${gatewayPort}/graphql`;
  await waitHttp(`http://127.0.0.1:${gatewayPort}/readyz`, 'gateway ready');
}, 180_000);

afterAll(async () => {
  await Promise.all(
    children.map(
      ({ proc }) =>
        new Promise<void>((resolve) => {
          if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
          proc.once('exit', () => resolve());
          proc.kill('SIGTERM');
          setTimeout(() => proc.kill('SIGKILL'), 10_000).unref();
        }),
    ),
  );
  await chains?.stop();
  await env?.cleanup();
  if (out) rmSync(out, { recursive: true, force: true });
});

describe('the compiled build', () => {
  it('installs no dev tooling and ships plain JavaScript', () => {
    for (const pkg of DEV_ONLY_PACKAGES) expect(existsSync(path.join(out, 'node_modules', pkg))).toBe(false);
    expect(existsSync(path.join(out, 'node_modules', 'tsx'))).toBe(false);
    expect(existsSync(path.join(out, 'node_modules', 'typescript'))).toBe(false);
    expect(built.bundles.map((b) => b.entry)).toEqual(
      expect.arrayContaining([...SERVICES.map((s) => s.entry.replace(/\.js$/, '.ts')), 'gateway/src/index.ts']),
    );
    const tsFiles = readdirSync(out, { recursive: true, encoding: 'utf8' }).filter((f) => /\.ts$/.test(f) && !f.startsWith('node_modules'));
    expect(tsFiles).toEqual([]);
  });

  it('serves the API and takes a payment to PAID', async () => {
    const merchant = await gql(gatewayUrl, 'mutation { createMerchant(input: { name: "Prod build" }) { merchant { id } secret } }', {}, env.operatorToken);
    expect(merchant.errors).toBeUndefined();
    const key = merchant.data.createMerchant.secret as string;
    const created = await gql(
      gatewayUrl,
      'mutation($i: CreatePaymentInput!) { createPayment(input: $i) { id status address { address } } }',
      { i: { coinId: 'dev-evm:ETH', amount: '0.25' } },
      key,
    );
    expect(created.errors).toBeUndefined();
    const payment = created.data.createPayment as { id: string; status: string; address: { address: string } };
    expect(payment.status).toBe('PENDING');
    await chains.evmDev.fund(payment.address.address, 'dev-evm:ETH', 25n * 10n ** 16n);
    await chains.evmDev.mine(2);
    await eventually(
      async () => {
        const res = await gql(gatewayUrl, 'query($id: ID!) { payment(id: $id) { status amountConfirmed } }', { id: payment.id }, key);
        return res.data?.payment?.status === 'PAID' ? res.data.payment : undefined;
      },
      'the payment PAID through the compiled services',
      60_000,
    );
  });
});
