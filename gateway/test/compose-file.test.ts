// docker-compose.yml, the production path (README "Production"): it is a valid Compose file; each
// service is given only its own secrets, as files read through X_FILE, never a value inline; every
// application service is its own NATS user; `npm run compose:secrets` makes exactly the files the
// file mounts; and the config the nats-config one-shot writes runs a real nats-server that refuses
// anonymous clients and every subject a service does not own.
// There is no Docker engine here: the file is checked, the two scripts and nats-server are run.
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
}
interface ComposeFile {
  services: Record<string, Service>;
  secrets: Record<string, { file?: string }>;
  volumes: Record<string, unknown>;
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

function holders(secret: string): string[] {
  return Object.keys(compose.services)
    .filter((name) => secret in mountsOf(compose.services[name]!))
    .sort();
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
    const schema = JSON.parse(readFileSync(COMPOSE_SPEC, 'utf8')) as Record<string, unknown>;
    // Draft-07 (ajv's default); the spec's `$schema` spelling is not one ajv knows by that URL.
    delete schema.$schema;
    const validate = new Ajv({ strict: false, allErrors: true, validateFormats: false }).compile(schema);
    const ok = validate(compose);
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
  });

  it('gives every service exactly its own secrets, each read through <VARIABLE>_FILE from where it is mounted', () => {
    expect(Object.keys(compose.services).sort()).toEqual(Object.keys(EXPECTED).sort());
    for (const [name, service] of Object.entries(compose.services)) {
      const mounts = mountsOf(service);
      const fileVars = Object.fromEntries(
        Object.entries(envOf(service))
          .filter(([k]) => k.endsWith('_FILE'))
          .map(([k, v]) => [k.slice(0, -'_FILE'.length), v]),
      );
      const expected = EXPECTED[name]!;
      expect([name, Object.keys(mounts).sort()]).toEqual([name, Object.values(expected).sort()]);
      expect([name, fileVars]).toEqual([name, Object.fromEntries(Object.entries(expected).map(([v, secret]) => [v, mounts[secret]]))]);
    }
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
    for (const [name, service] of Object.entries(compose.services)) {
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
    for (const [name, def] of Object.entries(compose.secrets)) expect([name, def.file]).toEqual([name, `./secrets/${name}`]);

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

describe('npm run compose:secrets, nats-config and a real nats-server', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'cpg-compose-file-'));
  const secretsDir = join(tmp, 'secrets');
  const secretFiles = (): Record<string, string> =>
    Object.fromEntries(APP_SERVICES.map((s) => [`NATS_PASSWORD_${s.toUpperCase()}_FILE`, join(secretsDir, nats(s))]));
  let server: ChildProcess | undefined;
  const clients: NatsConnection[] = [];

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    if (server?.pid && server.exitCode === null) {
      const exited = new Promise((r) => server!.once('exit', r));
      process.kill(server.pid, 'SIGTERM');
      await exited;
    }
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
});
