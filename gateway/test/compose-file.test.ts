// docker-compose.yml, the production path (README "Production"): it is a valid Compose file; each
// service is given only its own secrets, as files read through X_FILE, never a value inline; every
// application service is its own NATS user; `npm run compose:secrets` makes exactly the files the
// file mounts; and the config the nats-config one-shot writes runs a real nats-server that refuses
// anonymous clients and every subject a service does not own.
// docker-compose.cluster.yml (docs/scaling.md) obeys the same rules and has the clustered shape; its
// three NATS nodes' command lines, run for real, form a JetStream cluster that survives losing one.
// There is no Docker engine here: the files are checked, the two scripts and nats-server are run.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import Ajv from 'ajv';
import { type NatsConnection, connect } from 'nats';
import { parse } from 'yaml';
import { findNatsServer, freePort, waitForTcp } from '@cpg/devkit/services';
import { ENTRIES as BUILD_ENTRIES } from '../../scripts/build';

const REPO_ROOT = resolve(__dirname, '..', '..');
// The Compose specification's schema lives beside the repository (../shared), like the API contract
// in compose.test.ts: a clone placed elsewhere skips only that validation.
const COMPOSE_SPEC = process.env.COMPOSE_SPEC ?? resolve(REPO_ROOT, '..', 'shared', 'fixtures', 'compose', 'compose-spec.json');
const withSpec = existsSync(COMPOSE_SPEC) ? it : it.skip;

const APP_SERVICES = ['gateway', 'merchant', 'address', 'payment', 'withdrawal', 'compliance', 'tracker', 'signer', 'collector'] as const;
const SUBGRAPHS = ['merchant', 'address', 'payment', 'withdrawal', 'compliance'];
const nats = (s: string) => `nats_password_${s}`;

/** Per service: the variable each secret fills (through <VARIABLE>_FILE) and the secret's name. DESIGN.md "Trust boundaries". */
const EXPECTED: Record<string, Record<string, string>> = {
  postgres: { POSTGRES_PASSWORD: 'postgres_password' },
  'nats-config': Object.fromEntries(APP_SERVICES.map((s) => [`NATS_PASSWORD_${s.toUpperCase()}`, nats(s)])),
  nats: {},
  gateway: { NATS_PASSWORD: nats('gateway'), OPERATOR_TOKEN: 'operator_token', GATEWAY_SECRET: 'gateway_secret' },
  merchant: {
    NATS_PASSWORD: nats('merchant'),
    DATABASE_URL: 'database_url',
    GATEWAY_SECRET: 'gateway_secret',
    WEBHOOK_ENCRYPTION_KEY: 'webhook_encryption_key',
  },
  address: { NATS_PASSWORD: nats('address'), DATABASE_URL: 'database_url', GATEWAY_SECRET: 'gateway_secret' },
  payment: { NATS_PASSWORD: nats('payment'), DATABASE_URL: 'database_url', GATEWAY_SECRET: 'gateway_secret', CHECKOUT_TOKEN_SECRET: 'checkout_token_secret' },
  withdrawal: { NATS_PASSWORD: nats('withdrawal'), DATABASE_URL: 'database_url', GATEWAY_SECRET: 'gateway_secret' },
  compliance: { NATS_PASSWORD: nats('compliance'), DATABASE_URL: 'database_url', GATEWAY_SECRET: 'gateway_secret' },
  tracker: { NATS_PASSWORD: nats('tracker'), DATABASE_URL: 'database_url' },
  signer: { NATS_PASSWORD: nats('signer'), DATABASE_URL: 'database_url', KEY_ENCRYPTION_KEY: 'key_encryption_key' },
  collector: { NATS_PASSWORD: nats('collector'), DATABASE_URL: 'database_url' },
};

/** Variables whose value is a secret: never in `environment` or in .env, only as X_FILE. */
const SECRET_VARIABLES = [
  'GATEWAY_SECRET',
  'OPERATOR_TOKEN',
  'KEY_ENCRYPTION_KEY',
  'CHECKOUT_TOKEN_SECRET',
  'WEBHOOK_ENCRYPTION_KEY',
  'DATABASE_URL',
  'POSTGRES_PASSWORD',
  'NATS_PASSWORD',
  ...APP_SERVICES.map((s) => `NATS_PASSWORD_${s.toUpperCase()}`),
  'KYT_PROVIDER_API_KEY',
];

interface Service {
  image?: string;
  command?: string[];
  environment?: Record<string, string | number | null> | string[];
  env_file?: string | string[];
  secrets?: Array<string | { source: string; target?: string }>;
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  restart?: string;
  ports?: string[];
  networks?: Record<string, { ipv4_address?: string } | null>;
}
interface ComposeFile {
  services: Record<string, Service>;
  secrets: Record<string, { file?: string }>;
  volumes: Record<string, unknown>;
  networks?: Record<string, { internal?: boolean; ipam?: { config?: { subnet?: string }[] } } | null>;
}

const composeText = readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8');
// Compose resolves YAML merge keys (`<<: *app`); so does this parse.
const compose = parse(composeText, { merge: true }) as ComposeFile;

function envOf(service: Service): Record<string, string> {
  const env = service.environment ?? {};
  if (Array.isArray(env)) return Object.fromEntries(env.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v ?? '')]));
}

/** Secret name -> the path it is mounted at in that service's containers. */
function mountsOf(service: Service): Record<string, string> {
  return Object.fromEntries(
    (service.secrets ?? []).map((s) => {
      const source = typeof s === 'string' ? s : s.source;
      const target = typeof s === 'string' ? undefined : s.target;
      return [source, target?.startsWith('/') ? target : `/run/secrets/${target ?? source}`];
    }),
  );
}

function holders(secret: string, file: ComposeFile = compose): string[] {
  return Object.keys(file.services)
    .filter((name) => secret in mountsOf(file.services[name]!))
    .sort();
}

function expectValidCompose(file: ComposeFile): void {
  const schema = JSON.parse(readFileSync(COMPOSE_SPEC, 'utf8')) as Record<string, unknown>;
  // Draft-07 (ajv's default); the spec's `$schema` spelling is not one ajv knows by that URL.
  delete schema.$schema;
  const validate = new Ajv({ strict: false, allErrors: true, validateFormats: false }).compile(schema);
  const ok = validate(file);
  expect(validate.errors ?? []).toEqual([]);
  expect(ok).toBe(true);
}

/** Each service mounts exactly the secrets `expectedOf` lists for it, each read through <VARIABLE>_FILE. */
function expectOwnSecrets(file: ComposeFile, expectedOf: (service: string) => Record<string, string> | undefined): void {
  for (const [name, service] of Object.entries(file.services)) {
    const mounts = mountsOf(service);
    const fileVars = Object.fromEntries(
      Object.entries(envOf(service))
        .filter(([k]) => k.endsWith('_FILE'))
        .map(([k, v]) => [k.slice(0, -'_FILE'.length), v]),
    );
    const expected = expectedOf(name);
    expect([name, expected !== undefined]).toEqual([name, true]);
    expect([name, Object.keys(mounts).sort()]).toEqual([name, Object.values(expected!).sort()]);
    expect([name, fileVars]).toEqual([name, Object.fromEntries(Object.entries(expected!).map(([v, secret]) => [v, mounts[secret]]))]);
  }
}

/** No secret variable in any environment, no credentials in a URL, no token-like value; only .env as env_file. */
function expectNoInlineSecrets(file: ComposeFile): void {
  for (const [name, service] of Object.entries(file.services)) {
    for (const [key, value] of Object.entries(envOf(service))) {
      expect([name, key, SECRET_VARIABLES.includes(key)]).toEqual([name, key, false]);
      if (key.endsWith('_FILE')) expect([name, key, value]).toEqual([name, key, expect.stringMatching(/^\/run\/secrets\/[a-z_]+$/)]);
      // No credentials in a URL, no long random-looking token.
      const tokenLike = !key.endsWith('_FILE') && /^[A-Za-z0-9+/_-]{32,}={0,2}$/.test(value);
      expect([name, key, /:\/\/[^/\s:@]+:[^@\s]+@/.test(value) || tokenLike]).toEqual([name, key, false]);
    }
    // One shared env file at most, and it is .env (settings only).
    const envFiles = service.env_file === undefined ? [] : [service.env_file].flat();
    expect([name, envFiles.every((f) => f === '.env')]).toEqual([name, true]);
  }
  for (const [name, def] of Object.entries(file.secrets)) expect([name, def.file]).toEqual([name, `./secrets/${name}`]);
}

/** SIGTERM to a process we started, resolved once it has exited. */
async function stop(proc: ChildProcess | undefined): Promise<void> {
  if (!proc?.pid || proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  process.kill(proc.pid, 'SIGTERM');
  await exited;
}

/** `attempt` until it resolves (a cluster electing a leader answers with errors meanwhile); its last error after `ms`. */
async function until<T>(what: string, attempt: () => Promise<T>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      return await attempt();
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what}: ${String(last)}`);
}

function runScript(script: string, args: string[], env: Record<string, string> = {}) {
  // Nothing of the outer environment's NATS settings leaks into the run.
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('NATS_'))) as Record<string, string>;
  const res = spawnSync(process.execPath, ['--import', 'tsx', join('scripts', script), ...args], {
    cwd: REPO_ROOT,
    env: { ...base, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: res.status, stdout: res.stdout ?? '', stderr: `${res.stderr ?? ''}${res.error ? String(res.error) : ''}` };
}

describe('docker-compose.yml', () => {
  withSpec('is valid against the Compose specification', () => {
    expectValidCompose(compose);
  });

  it('gives every service exactly its own secrets, each read through <VARIABLE>_FILE from where it is mounted', () => {
    expect(Object.keys(compose.services).sort()).toEqual(Object.keys(EXPECTED).sort());
    expectOwnSecrets(compose, (name) => EXPECTED[name]);
  });

  it('gives the KEK only to the signer, the operator token only to the gateway, each key only where it is used', () => {
    expect(holders('key_encryption_key')).toEqual(['signer']);
    expect(holders('operator_token')).toEqual(['gateway']);
    expect(holders('checkout_token_secret')).toEqual(['payment']);
    expect(holders('webhook_encryption_key')).toEqual(['merchant']);
    expect(holders('gateway_secret')).toEqual(['gateway', ...SUBGRAPHS].sort());
    expect(holders('database_url')).toEqual(APP_SERVICES.filter((s) => s !== 'gateway').sort());
    expect(holders('postgres_password')).toEqual(['postgres']);
    for (const s of APP_SERVICES) expect(holders(nats(s))).toEqual(['nats-config', s].sort());
  });

  it('has no secret value inline: not in any environment, not in .env.example, only files under ./secrets/', () => {
    expectNoInlineSecrets(compose);

    const example = readFileSync(join(REPO_ROOT, '.env.example'), 'utf8');
    const assigned = example
      .split('\n')
      .map((l) => /^([A-Za-z_][A-Za-z0-9_]*)=/.exec(l)?.[1])
      .filter((v): v is string => !!v);
    expect(assigned.filter((v) => SECRET_VARIABLES.includes(v) || v.endsWith('_FILE'))).toEqual([]);
    expect(assigned).toContain('NODE_ENV');
    expect(example).toMatch(/^NODE_ENV=production$/m);
    // It says which service gets which secret file.
    for (const name of Object.keys(compose.secrets)) {
      if (!name.startsWith('nats_password_')) expect(example).toMatch(new RegExp(`^# ${name}\\s`, 'm'));
    }
    expect(example).toMatch(/^# nats_password_<service>\s/m);
  });

  it('connects every application service to nats://nats:4222 as its own NATS user', () => {
    for (const name of APP_SERVICES) {
      const env = envOf(compose.services[name]!);
      expect([name, env.NATS_URL, env.NATS_USER, env.NATS_PASSWORD_FILE]).toEqual([name, 'nats://nats:4222', name, `/run/secrets/${nats(name)}`]);
      expect([name, compose.services[name]!.depends_on?.nats?.condition]).toEqual([name, 'service_healthy']);
    }
  });

  it('runs every application service from the compiled build (scripts/build.ts), never through tsx', () => {
    const started = Object.entries(compose.services)
      .filter(([, s]) => s.command?.[0] === 'node')
      .map(([name, s]) => [name, s.command![1]!.replace(/\.js$/, '.ts')] as const);
    expect(started.map(([name]) => name).sort()).toEqual([...APP_SERVICES, 'nats-config'].sort());
    for (const [name, entry] of started) expect([name, (BUILD_ENTRIES as readonly string[]).includes(entry)]).toEqual([name, true]);
    expect(Object.values(compose.services).flatMap((s) => s.command ?? [])).not.toContain('tsx');
    expect(readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8')).toMatch(/npm ci --omit=dev/);
  });

  it('starts NATS with the config the nats-config one-shot writes into a shared volume', () => {
    const oneShot = compose.services['nats-config']!;
    const server = compose.services.nats!;
    const out = oneShot.command![oneShot.command!.indexOf('--out') + 1]!;
    expect(oneShot.command!.slice(0, 2)).toEqual(['node', 'scripts/nats-config.js']);
    expect(oneShot.restart).toBe('no');
    expect(server.command).toEqual(['-c', out]);
    expect(server.depends_on).toEqual({ 'nats-config': { condition: 'service_completed_successfully' } });
    const volume = (s: Service) => s.volumes!.find((v) => v.split(':')[1] === dirname(out))?.split(':')[0];
    expect(volume(oneShot)).toBeDefined();
    expect(volume(server)).toBe(volume(oneShot));
    expect(compose.volumes).toHaveProperty(volume(oneShot)!);
    // A new named volume takes the owner of the image's directory: the one-shot runs as `node`.
    expect(readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8')).toContain(`mkdir ${dirname(out)} && chown node:node ${dirname(out)}`);
  });
});

// docker-compose.cluster.yml (docs/scaling.md): the same rules for secrets and commands, and the
// clustered shape: three NATS nodes routed to each other, two replicas of every application
// service on NATS_REPLICAS=3, each gateway given every subgraph replica, haproxy in front of the
// gateways and the widget's production build behind PUBLIC_CHECKOUT_URL.
const cluster = parse(readFileSync(join(REPO_ROOT, 'docker-compose.cluster.yml'), 'utf8'), { merge: true }) as ComposeFile;
const NATS_NODES = ['nats-1', 'nats-2', 'nats-3'];
const REPLICAS = [1, 2];
const replicasOf = (role: string) => REPLICAS.map((i) => `${role}-${i}`);
/** The role a cluster service plays: its docker-compose.yml name (merchant-2 -> merchant, nats-3 -> nats). */
const roleOf = (name: string) => name.replace(/-\d+$/, '');
/** The value given to `flag` on a command line (`--flag value`), undefined when absent. */
const flagOf = (command: string[], flag: string) => (command.includes(flag) ? command[command.indexOf(flag) + 1] : undefined);
/** Where a service's URL points: host and port. */
const hostPort = (url: string) => `${new URL(url).hostname}:${new URL(url).port}`;

describe('docker-compose.cluster.yml', () => {
  withSpec('is valid against the Compose specification', () => {
    expectValidCompose(cluster);
  });

  it('runs three NATS nodes, two replicas of every application service, haproxy and the widget', () => {
    expect(Object.keys(cluster.services).sort()).toEqual(
      ['postgres', 'nats-config', ...NATS_NODES, ...APP_SERVICES.flatMap((s) => replicasOf(s)), 'lb', 'widget'].sort(),
    );
  });

  it('gives each replica exactly the secrets of its service, none inline, the same secret files as docker-compose.yml', () => {
    // The widget and haproxy hold nothing secret.
    expectOwnSecrets(cluster, (name) => (name === 'widget' || name === 'lb' ? {} : EXPECTED[roleOf(name)]));
    expectNoInlineSecrets(cluster);
    expect(cluster.secrets).toEqual(compose.secrets);
    expect(holders('key_encryption_key', cluster)).toEqual(replicasOf('signer'));
    expect(holders('operator_token', cluster)).toEqual(replicasOf('gateway'));
    expect(holders('checkout_token_secret', cluster)).toEqual(replicasOf('payment'));
    expect(holders('webhook_encryption_key', cluster)).toEqual(replicasOf('merchant'));
    for (const s of APP_SERVICES) expect(holders(nats(s), cluster)).toEqual(['nats-config', ...replicasOf(s)].sort());
  });

  it('routes every NATS node to the two others over an internal network only the nodes are on', () => {
    const routes = cluster.networks?.['nats-routes'];
    expect(routes?.internal).toBe(true);
    const onRoutes = Object.entries(cluster.services).filter(([, s]) => s.networks && 'nats-routes' in s.networks);
    expect(onRoutes.map(([name]) => name).sort()).toEqual(NATS_NODES);
    const [net, bits] = routes!.ipam!.config![0]!.subnet!.split('/');
    expect(bits).toBe('24');

    const configOut = flagOf(cluster.services['nats-config']!.command!, '--out');
    const listenOf = (node: string) => flagOf(cluster.services[node]!.command!, '--cluster');
    const dataVolumes = new Set<string>();
    for (const node of NATS_NODES) {
      const s = cluster.services[node]!;
      const address = s.networks!['nats-routes']!.ipv4_address!;
      expect([node, address.split('.').slice(0, 3).join('.')]).toEqual([node, net!.split('.').slice(0, 3).join('.')]);
      expect([node, s.networks]).toEqual([node, { default: null, 'nats-routes': { ipv4_address: address } }]);
      expect([node, s.image]).toEqual([node, compose.services.nats!.image]);
      expect([node, flagOf(s.command!, '-c'), flagOf(s.command!, '--server_name'), flagOf(s.command!, '--cluster_name')]).toEqual([
        node,
        configOut,
        node,
        'cpg',
      ]);
      // Route listener on the internal address only; routes to exactly the other two listeners.
      expect([node, listenOf(node)]).toEqual([node, `nats://${address}:6222`]);
      const others = NATS_NODES.filter((n) => n !== node).map(listenOf);
      expect([node, flagOf(s.command!, '--routes')!.split(',').sort()]).toEqual([node, others.sort()]);
      expect(s.command).toContain('--no_advertise');
      expect([node, s.depends_on]).toEqual([node, { 'nats-config': { condition: 'service_completed_successfully' } }]);
      expect(s.volumes).toContain(`natsconfig:${dirname(configOut!)}:ro`);
      const data = s.volumes!.find((v) => v.endsWith(':/data'))!.split(':')[0]!;
      dataVolumes.add(data);
      expect(cluster.volumes).toHaveProperty(data);
    }
    expect(dataVolumes.size).toBe(NATS_NODES.length);
  });

  it('connects every application replica to all three nodes as its own user, with NATS_REPLICAS=3', () => {
    for (const name of APP_SERVICES.flatMap((s) => replicasOf(s))) {
      const env = envOf(cluster.services[name]!);
      expect([name, env.NATS_URL!.split(',').map(hostPort).sort()]).toEqual([name, NATS_NODES.map((n) => `${n}:4222`)]);
      expect([name, env.NATS_USER, env.NATS_PASSWORD_FILE, env.NATS_REPLICAS]).toEqual([name, roleOf(name), `/run/secrets/${nats(roleOf(name))}`, '3']);
      for (const node of NATS_NODES) expect([name, node, cluster.services[name]!.depends_on?.[node]?.condition]).toEqual([name, node, 'service_healthy']);
    }
    // A second replica starts once the first is healthy: migrations never run twice at once.
    for (const role of APP_SERVICES.filter((s) => s !== 'gateway')) {
      expect([role, cluster.services[`${role}-2`]!.depends_on?.[`${role}-1`]?.condition]).toEqual([role, 'service_healthy']);
      expect([role, cluster.services[`${role}-1`]!.depends_on?.postgres?.condition]).toEqual([role, 'service_healthy']);
    }
  });

  it('gives each gateway both replicas of every subgraph, at the port each listens on', () => {
    for (const gw of replicasOf('gateway')) {
      const env = envOf(cluster.services[gw]!);
      for (const sub of SUBGRAPHS) {
        const urls = env[`SUBGRAPH_${sub.toUpperCase()}_URL`]!.split(',');
        const expected = replicasOf(sub).map((r) => `http://${r}:${envOf(cluster.services[r]!).PORT}/graphql`);
        expect([gw, sub, urls]).toEqual([gw, sub, expected]);
      }
    }
  });

  it('runs every process from the compiled build, and the widget from its production build in the image', () => {
    for (const [name, s] of Object.entries(cluster.services).filter(([, svc]) => svc.command?.[0] === 'node')) {
      if (name === 'widget') continue;
      const entry = s.command![1]!.replace(/\.js$/, '.ts');
      expect([name, (BUILD_ENTRIES as readonly string[]).includes(entry)]).toEqual([name, true]);
      expect([name, s.command]).toEqual([name, compose.services[roleOf(name)]!.command]);
    }
    expect(cluster.services.widget!.command).toEqual(['node', 'widget/serve.mjs']);
    expect(existsSync(join(REPO_ROOT, 'widget', 'serve.mjs'))).toBe(true);
    // The runtime image has serve.mjs and the build it serves (widget/dist beside it).
    const dockerfile = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
    const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    expect(dockerfile.slice(0, dockerfile.lastIndexOf('\nFROM '))).toMatch(/^RUN npm run build -w widget$/m);
    expect(runtime).toMatch(/^COPY --from=build \/src\/widget\/dist\/ \.\/widget\/dist\/$/m);
    expect(runtime).toMatch(/^COPY --from=build \/src\/widget\/serve\.mjs \.\/widget\/serve\.mjs$/m);
  });

  it('points checkoutUrl at the widget, the widget at haproxy, and haproxy at every gateway', () => {
    const widget = cluster.services.widget!;
    const wenv = envOf(widget);
    const [published, target] = widget.ports![0]!.split(':');
    expect(target).toBe(wenv.PORT);
    for (const p of replicasOf('payment')) {
      const url = envOf(cluster.services[p]!).PUBLIC_CHECKOUT_URL!;
      // ${WIDGET_PUBLIC_URL:-default}: the operator's public origin, else the widget's published port.
      const fallback = /^\$\{WIDGET_PUBLIC_URL:-(.+)\}$/.exec(url)?.[1];
      expect([p, fallback && new URL(fallback).port]).toEqual([p, published]);
    }

    const lb = cluster.services.lb!;
    expect(hostPort(wenv.GATEWAY_URL!)).toBe(`lb:${lb.ports![0]!.split(':')[1]}`);
    const mount = lb.volumes!.find((v) => v.includes('haproxy.cfg'))!.split(':')[0]!;
    const cfg = readFileSync(join(REPO_ROOT, mount), 'utf8');
    expect(cfg).toMatch(new RegExp(`^\\s*bind :${lb.ports![0]!.split(':')[1]}$`, 'm'));
    expect(cfg).toMatch(/^\s*option httpchk GET \/readyz$/m);
    const servers = [...cfg.matchAll(/^\s*server (\S+) (\S+)$/gm)].map((m) => [m[1], m[2]]);
    expect(servers).toEqual(replicasOf('gateway').map((g) => [g, `${g}:${envOf(cluster.services[g]!).GATEWAY_PORT}`]));
    for (const g of replicasOf('gateway')) expect(cluster.services[g]!.ports).toBeUndefined();
  });
});

describe('npm run compose:secrets, nats-config and a real nats-server', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'cpg-compose-file-'));
  const secretsDir = join(tmp, 'secrets');
  const secretFiles = (): Record<string, string> =>
    Object.fromEntries(APP_SERVICES.map((s) => [`NATS_PASSWORD_${s.toUpperCase()}_FILE`, join(secretsDir, nats(s))]));
  let server: ChildProcess | undefined;
  const clusterNodes = new Map<string, ChildProcess>();
  const clients: NatsConnection[] = [];

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await Promise.all([server, ...clusterNodes.values()].map(stop));
    rmSync(tmp, { recursive: true, force: true });
  });

  it('makes one file per secret docker-compose.yml mounts, of the right shape, and never overwrites one', () => {
    const first = runScript('compose-secrets.ts', ['--root', tmp]);
    expect(first.stderr).toBe('');
    expect(first.status).toBe(0);
    expect(readdirSync(secretsDir).sort()).toEqual(Object.keys(compose.secrets).sort());
    expect(statSync(secretsDir).mode & 0o777).toBe(0o700);
    const read = (n: string) => readFileSync(join(secretsDir, n), 'utf8').replace(/\n$/, '');
    for (const name of Object.keys(compose.secrets)) expect([name, statSync(join(secretsDir, name)).mode & 0o777]).toEqual([name, 0o644]);
    expect(read('key_encryption_key')).toMatch(/^[0-9a-f]{64}$/);
    for (const n of ['gateway_secret', 'operator_token', 'checkout_token_secret', 'webhook_encryption_key']) expect(read(n)).toMatch(/^[0-9a-f]{64}$/);
    expect(read('database_url')).toBe(`postgres://cpg:${read('postgres_password')}@postgres:5432/cpg`);
    expect(new Set(APP_SERVICES.map((s) => read(nats(s)))).size).toBe(APP_SERVICES.length);
    expect(readFileSync(join(tmp, '.env'), 'utf8')).toBe(readFileSync(join(REPO_ROOT, '.env.example'), 'utf8'));

    writeFileSync(join(secretsDir, 'operator_token'), 'chosen-by-the-operator-000000\n');
    const before = Object.keys(compose.secrets).map(read);
    const again = runScript('compose-secrets.ts', ['--root', tmp]);
    expect(again.status).toBe(0);
    expect(again.stdout).not.toMatch(/^created/m);
    expect(Object.keys(compose.secrets).map(read)).toEqual(before);
  });

  it('nats-config refuses to write a config while a service has no password, naming it', () => {
    const files = secretFiles();
    delete files.NATS_PASSWORD_SIGNER_FILE;
    const out = join(tmp, 'missing.conf');
    const res = runScript('nats-config.ts', ['--out', out], files);
    expect(res.status).toBe(1);
    expect(res.stderr).toMatch(/no NATS password for signer\b/);
    expect(existsSync(out)).toBe(false);
  });

  it('nats-config writes the production config: every service a user, no tool user, no clear password', () => {
    const out = join(tmp, 'prod', 'nats-server.conf');
    const res = runScript('nats-config.ts', ['--out', out], secretFiles());
    expect(res.stderr).toBe('');
    expect(res.status).toBe(0);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    const text = readFileSync(out, 'utf8');
    expect(text).toMatch(/^listen: "0\.0\.0\.0:4222"$/m);
    expect(text).toMatch(/^http: "127\.0\.0\.1:8222"$/m);
    expect(text).toMatch(/^jetstream \{ store_dir: "\/data" \}$/m);
    expect([...text.matchAll(/\{ user: "([a-z]+)"/g)].map((m) => m[1])).toEqual([...APP_SERVICES]);
    for (const s of APP_SERVICES) expect(text).not.toContain(readFileSync(join(secretsDir, nats(s)), 'utf8').trim());
  });

  it('runs a nats-server that refuses anonymous clients and subjects a service does not own', async () => {
    const bin = findNatsServer();
    if (!bin) throw new Error('nats-server not found (apt-get install nats-server, or set NATS_SERVER_BIN)');
    const [port, httpPort] = [await freePort(), await freePort()];
    const conf = join(tmp, 'run', 'nats-server.conf');
    const monitorPassword = 'monitor-password-for-this-test-only';
    const res = runScript(
      'nats-config.ts',
      ['--out', conf, '--listen', `127.0.0.1:${port}`, '--monitor', `127.0.0.1:${httpPort}`, '--store-dir', join(tmp, 'run', 'js')],
      { ...secretFiles(), NATS_PASSWORD_MONITOR: monitorPassword },
    );
    expect(res.stderr).toBe('');
    expect(res.status).toBe(0);

    let log = '';
    server = spawn(bin, ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
    server.stdout!.on('data', (d: Buffer) => (log += d.toString()));
    server.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    await waitForTcp('127.0.0.1', port, 15_000).catch((err: Error) => {
      throw new Error(`${err.message}\n${log}`);
    });
    // The compose healthcheck's URL: 200 once the server and JetStream are up.
    await expect(fetch(`http://127.0.0.1:${httpPort}/healthz`).then((r) => r.status)).resolves.toBe(200);

    const servers = `127.0.0.1:${port}`;
    const password = (s: string) => readFileSync(join(secretsDir, nats(s)), 'utf8').trim();
    const as = async (user: string, pass: string) => {
      const nc = await connect({ servers, user, pass, reconnect: false, timeout: 5000 });
      clients.push(nc);
      return nc;
    };
    await expect(connect({ servers, reconnect: false, timeout: 5000 })).rejects.toThrow(/authorization violation/i);
    await expect(connect({ servers, user: 'gateway', pass: password('signer'), reconnect: false, timeout: 5000 })).rejects.toThrow(/authorization violation/i);

    const monitor = await as('monitor', monitorPassword);
    const seen: string[] = [];
    monitor.subscribe('cpg.>', { callback: (_err, msg) => seen.push(`${msg.subject} ${msg.string()}`) });
    await monitor.flush();

    const gateway = await as('gateway', password('gateway'));
    const denied: string[] = [];
    void (async () => {
      for await (const s of gateway.status()) {
        const ctx = (s as { permissionContext?: { operation: string; subject: string } }).permissionContext;
        if (ctx) denied.push(`${ctx.operation} ${ctx.subject}`);
      }
    })();
    const tracker = await as('tracker', password('tracker'));
    const collector = await as('collector', password('collector'));

    gateway.publish('cpg.rpc.signer.collect_sign', 'forged');
    tracker.publish('cpg.evt.chain.x.transfer.seen.k', 'from tracker');
    collector.publish('cpg.rpc.signer.collect_sign', 'from collector');
    await Promise.all([gateway.flush(), tracker.flush(), collector.flush()]);
    const deadline = Date.now() + 5000;
    while ((seen.length < 2 || denied.length < 1) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 200)); // anything late would show up now

    expect(denied).toEqual(['publish cpg.rpc.signer.collect_sign']);
    // The collector may ask the signer and the tracker may report transfers; the gateway's forgery never arrived.
    expect(seen.sort()).toEqual(['cpg.evt.chain.x.transfer.seen.k from tracker', 'cpg.rpc.signer.collect_sign from collector']);
  });

  it("runs docker-compose.cluster.yml's three NATS nodes as one JetStream cluster that keeps an R3 stream through the loss of its leader", async () => {
    const bin = findNatsServer();
    if (!bin) throw new Error('nats-server not found (apt-get install nats-server, or set NATS_SERVER_BIN)');
    // Every node on this host: local ports stand for each container's client, monitoring and route addresses.
    const ports = new Map<string, { client: number; http: number; route: number }>();
    for (const node of NATS_NODES) ports.set(node, { client: await freePort(), http: await freePort(), route: await freePort() });
    const routeAddress = new Map(
      NATS_NODES.map((n) => [`${cluster.services[n]!.networks!['nats-routes']!.ipv4_address}:6222`, `127.0.0.1:${ports.get(n)!.route}`]),
    );
    const adminPassword = 'admin-password-for-this-test-only';
    let log = '';
    for (const node of NATS_NODES) {
      const own = ports.get(node)!;
      const conf = join(tmp, 'cluster', node, 'nats-server.conf');
      const res = runScript(
        'nats-config.ts',
        ['--out', conf, '--listen', `127.0.0.1:${own.client}`, '--monitor', `127.0.0.1:${own.http}`, '--store-dir', join(tmp, 'cluster', node, 'js')],
        { ...secretFiles(), NATS_PASSWORD_ADMIN: adminPassword },
      );
      expect(res.stderr).toBe('');
      // The compose command as written, with the config path and the route addresses made local.
      const command = cluster.services[node]!.command!;
      const args = command.map((a) => (a === flagOf(command, '-c') ? conf : a.replace(/(?<=nats:\/\/)[^,\s]+/g, (addr) => routeAddress.get(addr) ?? addr)));
      for (const m of args.join(' ').matchAll(/nats:\/\/([^,\s]+)/g)) expect([node, m[1]]).toEqual([node, expect.stringMatching(/^127\.0\.0\.1:/)]);
      const proc = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      proc.stdout!.on('data', (d: Buffer) => (log += d.toString()));
      proc.stderr!.on('data', (d: Buffer) => (log += d.toString()));
      clusterNodes.set(node, proc);
    }
    const monitor = (node: string, path: string) => fetch(`http://127.0.0.1:${ports.get(node)!.http}${path}`);
    try {
      // The compose healthcheck: 200 once the node's JetStream has joined the cluster.
      for (const node of NATS_NODES) await until(`${node} healthy`, async () => expect((await monitor(node, '/healthz')).status).toBe(200));
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${log.slice(-4000)}`);
    }
    for (const node of NATS_NODES) {
      const routez = (await (await monitor(node, '/routez')).json()) as { routes?: { remote_id: string }[] };
      expect([node, new Set(routez.routes?.map((r) => r.remote_id)).size]).toEqual([node, 2]);
    }

    const nc = await connect({
      servers: NATS_NODES.map((n) => `127.0.0.1:${ports.get(n)!.client}`),
      user: 'admin',
      pass: adminPassword,
      timeout: 5000,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 100,
    });
    clients.push(nc);
    const jsm = await nc.jetstreamManager();
    const js = nc.jetstream();
    await until('R3 stream created', () => jsm.streams.add({ name: 'cluster_check', subjects: ['cluster_check.>'], num_replicas: 3 }));
    await js.publish('cluster_check.before', 'one');
    const before = await jsm.streams.info('cluster_check');
    expect(before.cluster?.replicas?.map((r) => r.name).sort()).toEqual(NATS_NODES.filter((n) => n !== before.cluster?.leader).sort());

    await stop(clusterNodes.get(before.cluster!.leader!));
    await until('publish after losing the leader', () => js.publish('cluster_check.after', 'two', { timeout: 2000 }));
    const after = await until('stream info from the new leader', () => jsm.streams.info('cluster_check'));
    expect(after.state.messages).toBe(2);
    expect(NATS_NODES.filter((n) => n !== before.cluster!.leader)).toContain(after.cluster?.leader);
  }, 120_000);
});
