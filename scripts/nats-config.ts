// `npm run nats:config -- --out FILE`: the nats-server config of a deployment, one user per service
// with the permissions of shared/core/src/bus/permissions.ts and bcrypt hashes of their passwords (the
// file holds no clear password). docker-compose.yml runs it as the one-shot `nats-config` service
// before NATS starts.
//
// Input, from the environment: NATS_NAMESPACE (default cpg) and one password per service,
// NATS_PASSWORD_<SERVICE> or NATS_PASSWORD_<SERVICE>_FILE (a file's trailing newline is dropped),
// e.g. NATS_PASSWORD_SIGNER_FILE=/run/secrets/nats_password_signer. The tool users (MONITOR, ADMIN)
// are optional: without a password they are left out, as in production.
//
// Flags: --out FILE (required; written 0600, replaced atomically), --listen HOST:PORT (default
// 0.0.0.0:4222), --monitor HOST:PORT or off (HTTP monitoring with /healthz; default 127.0.0.1:8222,
// reachable only inside the NATS container, where the healthcheck runs), --store-dir DIR (JetStream;
// default /data). Exits 1 naming every missing or bad password.
//
// A node of a JetStream cluster (docker-compose.cluster.yml): --server-name NAME (unique per node),
// --cluster-listen HOST:PORT (routes; default 0.0.0.0:6222), --routes HOST:PORT,HOST:PORT (the other
// nodes), --cluster-name NAME (default cpg). Routes authenticate with user `route` and
// NATS_CLUSTER_PASSWORD(_FILE) when it is set (the same on every node).
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type BusUser, SERVICE_NAMES, TOOL_USERS } from '@cpg/core/bus/permissions';
import { natsServerConfig } from '@cpg/core/bus/nats-auth';

const MIN_PASSWORD = 16;
const MAX_PASSWORD = 512;

interface Options {
  out: string;
  listen: { host: string; port: number };
  monitor?: { host: string; port: number };
  storeDir: string;
  cluster?: { serverName: string; name: string; listen: string; routes: string[] };
}

function hostPort(flag: string, value: string): { host: string; port: number } {
  const m = /^(.+):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port < 1 || port > 65535) throw new Error(`${flag} wants HOST:PORT, got ${JSON.stringify(value)}`);
  return { host: m[1]!, port };
}

function parseArgs(argv: string[]): Options {
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    const [flag, inline] = eq > 0 ? [arg.slice(0, eq), arg.slice(eq + 1)] : [arg, undefined];
    if (!['--out', '--listen', '--monitor', '--store-dir', '--server-name', '--cluster-listen', '--routes', '--cluster-name'].includes(flag))
      throw new Error(`unknown argument ${JSON.stringify(arg)}`);
    const value = inline ?? argv[++i];
    if (value === undefined || value === '') throw new Error(`${flag} needs a value`);
    values.set(flag, value);
  }
  const out = values.get('--out');
  if (!out) throw new Error('--out FILE is required');
  const monitor = values.get('--monitor') ?? '127.0.0.1:8222';
  const serverName = values.get('--server-name');
  const routes = values.get('--routes');
  if (Boolean(serverName) !== Boolean(routes)) throw new Error('a cluster node needs both --server-name and --routes');
  if (serverName && !/^[A-Za-z0-9_-]{1,64}$/.test(serverName)) throw new Error('--server-name wants letters, digits, _ and -');
  const cluster =
    serverName && routes
      ? {
          serverName,
          name: values.get('--cluster-name') ?? 'cpg',
          listen: values.get('--cluster-listen') ?? '0.0.0.0:6222',
          routes: routes.split(',').map((r) => {
            const { host, port } = hostPort('--routes', r.trim());
            return `${host}:${port}`;
          }),
        }
      : undefined;
  if (cluster) hostPort('--cluster-listen', cluster.listen);
  return {
    cluster,
    out: path.resolve(out),
    listen: hostPort('--listen', values.get('--listen') ?? '0.0.0.0:4222'),
    monitor: monitor === 'off' ? undefined : hostPort('--monitor', monitor),
    storeDir: values.get('--store-dir') ?? '/data',
  };
}

/** NATS_PASSWORD_<USER>, or the content of NATS_PASSWORD_<USER>_FILE; undefined when neither is set. */
function passwordOf(user: BusUser, env: NodeJS.ProcessEnv, problems: string[]): string | undefined {
  const name = `NATS_PASSWORD_${user.toUpperCase()}`;
  const direct = env[name];
  const file = env[`${name}_FILE`];
  if (direct && file) {
    problems.push(`${user}: set either ${name} or ${name}_FILE, not both`);
    return undefined;
  }
  let value = direct;
  if (file) {
    try {
      value = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    } catch (err) {
      problems.push(`${user}: cannot read ${name}_FILE=${file} (${(err as Error).message.split('\n')[0]})`);
      return undefined;
    }
  }
  if (!value) return undefined;
  if (value.length < MIN_PASSWORD || value.length > MAX_PASSWORD) {
    problems.push(`${user}: the password in ${file ? `${name}_FILE` : name} must be ${MIN_PASSWORD} to ${MAX_PASSWORD} characters`);
    return undefined;
  }
  return value;
}

function main(): void {
  const opts = parseArgs(process.argv.slice(2));
  const namespace = process.env.NATS_NAMESPACE || 'cpg';
  if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(namespace)) throw new Error(`NATS_NAMESPACE must be letters, digits and _ (got ${JSON.stringify(namespace)})`);

  const problems: string[] = [];
  const passwords: Partial<Record<BusUser, string>> = {};
  const missing: string[] = [];
  for (const user of [...SERVICE_NAMES, ...TOOL_USERS]) {
    const before = problems.length;
    const pass = passwordOf(user, process.env, problems);
    if (pass) passwords[user] = pass;
    else if (problems.length === before && (SERVICE_NAMES as readonly string[]).includes(user)) missing.push(user);
  }
  if (missing.length) {
    problems.unshift(
      `no NATS password for ${missing.join(', ')}: set ${missing.map((u) => `NATS_PASSWORD_${u.toUpperCase()}_FILE`).join(', ')} (or the variables without _FILE)`,
    );
  }
  if (problems.length) {
    process.stderr.write(`nats-config: nothing written:\n${problems.map((p) => `  - ${p}`).join('\n')}\n`);
    process.exit(1);
  }

  let routePassword: string | undefined;
  if (opts.cluster) {
    const direct = process.env.NATS_CLUSTER_PASSWORD;
    const file = process.env.NATS_CLUSTER_PASSWORD_FILE;
    routePassword = file ? readFileSync(file, 'utf8').replace(/\r?\n$/, '') : direct;
    if (routePassword !== undefined && (routePassword.length < MIN_PASSWORD || routePassword.length > MAX_PASSWORD)) {
      throw new Error(`NATS_CLUSTER_PASSWORD must be ${MIN_PASSWORD} to ${MAX_PASSWORD} characters`);
    }
  }
  const cluster = opts.cluster && { ...opts.cluster, ...(routePassword ? { routeUser: 'route', routePassword } : {}) };
  let text = natsServerConfig({ namespace, passwords, host: opts.listen.host, port: opts.listen.port, storeDir: opts.storeDir, cluster });
  if (opts.monitor) {
    // Its own host (natsServerConfig puts monitoring on the listen host): /healthz answers the
    // healthcheck inside the container, while connz/subsz stay out of the other services' reach.
    text = text.replace(/^(listen: .*)$/m, `$1\nhttp: ${JSON.stringify(`${opts.monitor.host}:${opts.monitor.port}`)}`);
  }
  mkdirSync(path.dirname(opts.out), { recursive: true });
  const tmp = `${opts.out}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode: 0o600 });
  renameSync(tmp, opts.out);
  const users = Object.keys(passwords).join(', ');
  process.stdout.write(`nats-config: wrote ${opts.out} (namespace ${namespace}; users ${users})\n`);
}

try {
  main();
} catch (err) {
  process.stderr.write(`nats-config: ${(err as Error).message}\n`);
  process.exit(1);
}
