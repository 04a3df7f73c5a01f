// `npm start`: Postgres and NATS (the machine's, or local ones under .data/), the dev chains, then every subgraph,
// then the gateway once the subgraphs are healthy. Ctrl-C stops all of it, children first.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  ensureNats,
  ensurePostgres,
  isTcpOpen,
  reapRecordedChildren,
  recordChildrenIn,
  setPrefixWidth,
  spawnManaged,
  type EnsuredService,
  type ManagedProcess,
} from '@cpg/devkit/services';
import { startDevChains } from './dev-chains';
import { devChainMismatches, resetDevState } from './dev-state';
import { processes, type ProcessSpec } from './processes';
import { type StackSecrets, devSecret, secretsOf, waitForHttp200, withoutSecrets } from './stack-env';

const root = path.resolve(__dirname, '..');
// CPG_DATA_DIR: another home for the dev stack's state (the dev-stack test runs its own).
const dataDir = process.env.CPG_DATA_DIR ? path.resolve(process.env.CPG_DATA_DIR) : path.join(root, '.data');
const HOST = '127.0.0.1';
const STOP_GRACE_MS = 10_000;
const READY_TIMEOUT_MS = 60_000;

const log = (line: string) => console.log(line);
const services: EnsuredService[] = [];
const running: Array<{ spec: ProcessSpec; proc: ManagedProcess }> = [];
let shuttingDown = false;

async function shutdown(code: number, reason?: string): Promise<void> {
  if (shuttingDown) return; // repeated Ctrl-C (terminal, npm and tsx each relay it) changes nothing
  shuttingDown = true;
  if (reason) log(reason);
  if (running.length > 0) log('stopping processes...');
  // the gateway first, so no request reaches a subgraph that is going away
  const gateway = running.filter((r) => r.spec.name === 'gateway');
  const others = running.filter((r) => r.spec.name !== 'gateway');
  for (const group of [gateway, others]) {
    await Promise.all(group.map((r) => r.proc.stop('SIGTERM', STOP_GRACE_MS).catch(() => undefined)));
  }
  for (const service of [...services].reverse()) {
    await service.stop().catch((err: Error) => log(`could not stop a service: ${err.message}`));
  }
  process.exit(code);
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => void shutdown(0, shuttingDown ? undefined : `${signal} received`));
}

const waitFor = (name: string, url: string, timeoutMs: number) => waitForHttp200(name, url, timeoutMs, { log, cancelled: () => shuttingDown });

function launch(spec: ProcessSpec, env: NodeJS.ProcessEnv): void {
  const proc = spawnManaged(spec.name, process.execPath, ['--import', 'tsx', spec.entry], {
    cwd: root,
    env: { ...env, PORT: String(spec.port) },
    detached: true, // only this runner signals it, by PID, in order
  });
  running.push({ spec, proc });
  void proc.exited.then((code) => {
    if (!shuttingDown) void shutdown(1, `start: ${spec.name} exited unexpectedly (exit code ${code}); stopping everything`);
  });
}

function banner(gatewayUrl: string, operatorToken: string): string {
  const body = JSON.stringify({
    query: 'mutation { createMerchant(input: {name: "Demo shop"}) { merchant { id name } secret } }',
  });
  const rule = '─'.repeat(72);
  return [
    '',
    rule,
    '  Crypto Payment Gateway is running',
    '',
    `  GraphQL (HTTP and graphql-ws):  ${gatewayUrl}`,
    `  Operator token:                 ${operatorToken}`,
    '',
    '  Create a merchant:',
    `    curl -s ${gatewayUrl} \\`,
    `      -H 'content-type: application/json' \\`,
    `      -H 'authorization: Bearer ${operatorToken}' \\`,
    `      -d '${body}'`,
    '',
    '  Ctrl-C stops everything.',
    rule,
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  const missing = processes.filter((p) => !existsSync(path.join(root, p.entry)));
  if (missing.length > 0) {
    throw new Error(`start: missing entry point(s): ${missing.map((p) => p.entry).join(', ')}`);
  }
  // Whatever an earlier run recorded and never stopped (its runner killed with SIGKILL, a closed
  // terminal) is a leftover, unless that run is still alive; then its ports say so below.
  mkdirSync(dataDir, { recursive: true });
  const childrenFile = path.join(dataDir, 'children.json');
  await reapRecordedChildren(childrenFile, log);
  for (const p of processes) {
    if (await isTcpOpen(HOST, p.port)) {
      throw new Error(`start: port ${p.port} (${p.name}) is already in use; is another \`npm start\` running?`);
    }
  }

  if (process.argv.includes('--reset-dev')) resetDevState(dataDir, log);
  recordChildrenIn(childrenFile);

  services.push(await ensurePostgres({ dataDir: path.join(dataDir, 'pg'), log }));
  if (shuttingDown) return;
  const namespace = process.env.NATS_NAMESPACE ?? 'cpg';
  const nats = await ensureNats({ dataDir: path.join(dataDir, 'nats'), log, namespace });
  services.push(nats);
  if (shuttingDown) return;
  const pg = services[0]!;
  if (process.env.DEV_CHAINS !== '0' && process.env.DEV_CHAINS !== 'false') {
    const chains = await startDevChains(dataDir, log, { autoMine: true });
    for (const chain of chains) services.push({ url: chain.name, started: true, stop: chain.stop });
    if (shuttingDown) return;
    const mismatches = await devChainMismatches(
      pg.url,
      chains.map((c) => c.name),
    );
    if (mismatches.length > 0) {
      return shutdown(
        1,
        [
          'start: the dev chains are not the chains this database remembers:',
          ...mismatches.map((m) => `  - ${m}`),
          'Scanning on would reverse payments and balances. Start over with empty chains and an empty database:',
          '  npm start -- --reset-dev',
        ].join('\n'),
      );
    }
  }
  if (shuttingDown) return;

  const operatorToken = devSecret(dataDir, 'OPERATOR_TOKEN', 'operator-token');
  const stackSecrets: StackSecrets = {
    credentials: nats.credentials,
    operatorToken,
    gatewaySecret: devSecret(dataDir, 'GATEWAY_SECRET', 'gateway-secret'),
    keyEncryptionKey: devSecret(dataDir, 'KEY_ENCRYPTION_KEY', 'key-encryption-key', 32),
  };
  // What every process shares: no secret in it; each process then gets only its own (secretsOf).
  const common: NodeJS.ProcessEnv = {
    ...withoutSecrets(process.env),
    DATABASE_URL: pg.url,
    NATS_URL: nats.url,
    NATS_NAMESPACE: namespace,
    NODE_ENV: 'development',
    HOST,
  };
  const secretsFor = (name: string) => secretsOf(name, stackSecrets);

  setPrefixWidth(Math.max(...processes.map((p) => p.name.length + 2)));
  const subgraphs = processes.filter((p) => p.name !== 'gateway');
  const gateway = processes.find((p) => p.name === 'gateway');
  if (!gateway) throw new Error('start: scripts/processes.ts lists no gateway');

  for (const spec of subgraphs) launch(spec, { ...common, ...secretsFor(spec.name) });
  const healthy = await Promise.all(
    subgraphs.map(async (spec) => {
      const url = `http://${HOST}:${spec.port}/healthz`;
      const ok = await waitFor(spec.name, url, READY_TIMEOUT_MS);
      if (ok) log(`start: ${spec.name} is healthy (${url})`);
      return ok ? undefined : spec;
    }),
  );
  if (shuttingDown) return;
  const late = healthy.filter((spec): spec is ProcessSpec => spec !== undefined);
  if (late.length > 0) {
    return shutdown(1, `start: no healthy answer within ${READY_TIMEOUT_MS / 1000} s from ${late.map((s) => s.name).join(', ')}; stopping`);
  }

  const subgraphUrls = Object.fromEntries(
    subgraphs.filter((spec) => spec.kind === 'subgraph').map((spec) => [`SUBGRAPH_${spec.name.toUpperCase()}_URL`, `http://${HOST}:${spec.port}/graphql`]),
  );
  launch(gateway, { ...common, ...secretsFor('gateway'), ...subgraphUrls, GATEWAY_PORT: String(gateway.port) });
  const readyUrl = `http://${HOST}:${gateway.port}/readyz`;
  if (!(await waitFor('gateway', readyUrl, READY_TIMEOUT_MS))) {
    if (shuttingDown) return;
    return shutdown(1, `start: the gateway did not become ready (${readyUrl}) within ${READY_TIMEOUT_MS / 1000} s; stopping`);
  }
  console.log(banner(`http://${HOST}:${gateway.port}/graphql`, operatorToken));
  await startWidget(`http://${HOST}:${gateway.port}/graphql`, operatorToken, common);
}

const WIDGET_PORT = 5173;

/**
 * The checkout widget's Vite dev server (page /checkout/<token>, /graphql proxied to the gateway,
 * the dev-only "Simulate payment" control), then a demo payment to open in it. The API is already
 * up by now, so a taken port or a slow start is reported and the widget left out; a widget that
 * crashes later stops everything, like any other process here.
 */
async function startWidget(gatewayUrl: string, operatorToken: string, env: NodeJS.ProcessEnv): Promise<void> {
  if (shuttingDown || process.env.WIDGET === '0') return;
  if (await isTcpOpen(HOST, WIDGET_PORT)) {
    log(`start: port ${WIDGET_PORT} is in use; the checkout widget is not started`);
    return;
  }
  launch({ name: 'widget', entry: 'widget/dev/cli.ts', port: WIDGET_PORT, kind: 'worker' }, { ...env, GATEWAY_URL: gatewayUrl });
  if (!(await waitFor('widget', `http://${HOST}:${WIDGET_PORT}/`, READY_TIMEOUT_MS))) {
    if (!shuttingDown) log(`start: the checkout widget did not answer on port ${WIDGET_PORT}`);
    return;
  }
  try {
    const url = await demoCheckoutUrl(gatewayUrl, operatorToken);
    log(`start: checkout widget at http://${HOST}:${WIDGET_PORT}; demo checkout: ${url}`);
  } catch (err) {
    log(`start: checkout widget at http://${HOST}:${WIDGET_PORT}; no demo payment (${(err as Error).message})`);
  }
}

async function gatewayCall<T>(url: string, token: string, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: T; errors?: { message: string }[] };
  if (!body.data) throw new Error(body.errors?.[0]?.message ?? `HTTP ${res.status}`);
  return body.data;
}

/** A fresh payment for one demo merchant, whose key is kept in .data/ so restarts do not pile up merchants. */
async function demoCheckoutUrl(gatewayUrl: string, operatorToken: string): Promise<string> {
  const keyFile = path.join(dataDir, 'widget-demo-merchant-key');
  const create = (key: string) =>
    gatewayCall<{ createPayment: { checkoutUrl: string } }>(
      gatewayUrl,
      key,
      'mutation($input: CreatePaymentInput!) { createPayment(input: $input) { checkoutUrl } }',
      { input: { coinId: 'dev-evm:USDT', amount: '25', description: 'Demo order' } },
    );
  let saved: string | undefined;
  try {
    saved = readFileSync(keyFile, 'utf8').trim() || undefined;
  } catch {
    /* first start */
  }
  if (saved) {
    try {
      return (await create(saved)).createPayment.checkoutUrl;
    } catch {
      /* the database was reset since: make the merchant again */
    }
  }
  const made = await gatewayCall<{ createMerchant: { secret: string } }>(
    gatewayUrl,
    operatorToken,
    'mutation { createMerchant(input: { name: "Demo shop" }) { secret } }',
  );
  writeFileSync(keyFile, `${made.createMerchant.secret}\n`, { mode: 0o600 });
  return (await create(made.createMerchant.secret)).createPayment.checkoutUrl;
}

main().catch((err: Error) => {
  void shutdown(1, err?.message ?? String(err));
});
