import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { connect } from 'nats';
import { aptInstall, findBinary } from './apt';
import { type NatsClusterOptions, type NatsCredentials, loadOrCreateCredentials, natsServerConfig } from '@cpg/core/bus/nats-auth';
import { exitOf, forgetChild, rememberChild, stopChild, tailOf, type ExitInfo } from './child-processes';
import type { EnsuredService, EnsureServiceOptions } from './postgres';
import { freePort, isTcpOpen, waitForTcp } from './tcp';

export const DEFAULT_NATS_URL = 'nats://127.0.0.1:4222';
export const DEFAULT_LOCAL_NATS_PORT = 4229;

export interface NatsServerHandle {
  url: string;
  port: number;
  /** PID of the current nats-server process (changes after stop() + start()). */
  readonly pid: number;
  /** SIGTERM, SIGKILL after 5 s; resolves once the process has exited. */
  stop(): Promise<void>;
  /** kill -9: no clean shutdown (a crash); resolves once the process is gone. */
  kill(): Promise<void>;
  /** After stop() or kill(): starts again on the same port and store dir; resolves once the port answers. */
  start(): Promise<void>;
}

export interface StartNatsServerOptions {
  /** 0 or absent: pick a free port. */
  port?: number;
  storeDir: string;
  /** nats-server binary; default NATS_SERVER_BIN, else found on PATH / sbin. */
  bin?: string;
  /**
   * Own process group, so a terminal's Ctrl-C reaches only the runner, which stops it last.
   * Default false: in tests a Ctrl-C should end it together with the test process.
   */
  detached?: boolean;
  startTimeoutMs?: number;
  /**
   * Users and permissions (permissions.ts): the server then refuses every client without a
   * password and every subject a user may not use. Absent: an open server (only the tests of
   * this module run one).
   */
  auth?: { namespace: string; credentials: NatsCredentials; bcryptCost?: number };
  /** One node of a cluster (nats-cluster.ts); needs `auth` (the cluster block lives in the config file). */
  cluster?: NatsClusterOptions;
}

/** Absolute path of nats-server (NATS_SERVER_BIN, PATH, then the usual sbin/bin dirs), or undefined. */
export function findNatsServer(): string | undefined {
  return findBinary(process.platform === 'win32' ? 'nats-server.exe' : 'nats-server', process.env.NATS_SERVER_BIN);
}

/**
 * Runs `nats-server -a 127.0.0.1 -p PORT -js -sd STORE_DIR` and resolves once its port answers.
 * Its output goes to STORE_DIR/nats-server.log.
 */
export async function startNatsServer(opts: StartNatsServerOptions): Promise<NatsServerHandle> {
  const bin = opts.bin ?? findNatsServer();
  if (!bin) throw new Error(natsServerMissingMessage());
  const storeDir = path.resolve(opts.storeDir);
  await fs.mkdir(storeDir, { recursive: true });
  const port = opts.port || (await freePort());
  const host = '127.0.0.1';
  const logFile = path.join(storeDir, 'nats-server.log');
  const startTimeoutMs = opts.startTimeoutMs ?? 15_000;

  let child: ChildProcess | undefined;
  let exited: Promise<ExitInfo> = Promise.resolve({ code: null, signal: null });
  let stopping: Promise<void> | undefined;

  const start = async (): Promise<void> => {
    if (stopping) await stopping;
    if (child && child.exitCode === null && child.signalCode === null) return;
    if (await isTcpOpen(host, port, 300)) {
      throw new Error(`nats-server: port ${port} is already in use by another program`);
    }
    const pidFile = path.join(storeDir, 'nats-server.pid');
    let args = ['-a', host, '-p', String(port), '-js', '-sd', storeDir, '-P', pidFile];
    if (opts.cluster && !opts.auth) throw new Error('nats-server: a cluster node needs auth (its config file carries the cluster)');
    if (opts.auth) {
      // Written at every start, so a changed permission table applies after a restart.
      const configFile = path.join(storeDir, 'nats-server.conf');
      const text = natsServerConfig({
        namespace: opts.auth.namespace,
        passwords: opts.auth.credentials,
        host,
        port,
        storeDir,
        bcryptCost: opts.auth.bcryptCost ?? 8,
        cluster: opts.cluster,
      });
      await fs.writeFile(configFile, text, { mode: 0o600 });
      args = ['-c', configFile, '-P', pidFile];
    }
    const logFd = openSync(logFile, 'a');
    const proc = spawn(bin, args, {
      cwd: storeDir,
      detached: opts.detached ?? false,
      stdio: ['ignore', logFd, logFd],
    });
    closeSync(logFd);
    child = proc;
    stopping = undefined;
    exited = exitOf(proc);
    rememberChild(proc.pid, 'SIGTERM');
    const died = exited.then((info) => {
      throw new Error(`nats-server exited while starting (code ${info.code}, signal ${info.signal}); last lines of ${logFile}:\n`);
    });
    try {
      await Promise.race([waitForTcp(host, port, startTimeoutMs), died]);
    } catch (err) {
      await stopChild(proc, exited, [{ signal: 'SIGTERM', graceMs: 2000 }]);
      forgetChild(proc.pid);
      throw new Error(`${(err as Error).message}\n${await tailOf(logFile)}`.trim());
    }
    died.catch(() => undefined);
  };

  const stop = (signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> => {
    const proc = child;
    if (!proc) return Promise.resolve();
    stopping ??= (async () => {
      await stopChild(proc, exited, [{ signal, graceMs: 5000 }]);
      forgetChild(proc.pid);
    })();
    return stopping;
  };

  await start();
  return {
    url: `nats://${host}:${port}`,
    port,
    get pid() {
      return child?.pid ?? -1;
    },
    stop: () => stop('SIGTERM'),
    kill: () => stop('SIGKILL'),
    start,
  };
}

function natsServerMissingMessage(): string {
  return [
    'nats-server is not installed, and no NATS server answers at NATS_URL.',
    'Install it, then run again:',
    '  Debian/Ubuntu:  sudo apt-get install -y nats-server',
    '  macOS:          brew install nats-server',
    '  other:          https://github.com/nats-io/nats-server/releases (put nats-server on PATH or set NATS_SERVER_BIN)',
    'or point NATS_URL at a running NATS server with JetStream enabled.',
  ].join('\n');
}

/** Root with apt-get: install Debian's nats-server. Otherwise: an error saying how to install it. */
async function installNatsServer(log: (line: string) => void): Promise<string> {
  if (!(await aptInstall('nats-server', log))) throw new Error(natsServerMissingMessage());
  const bin = findNatsServer();
  if (!bin) throw new Error(`nats-server was installed but is not found on PATH.\n${natsServerMissingMessage()}`);
  return bin;
}

/** What ensureNats hands back: the server's URL (never with credentials) and, for a server it runs, every user's password. */
export interface EnsuredNats extends EnsuredService {
  /** The passwords of the server this project runs; absent when NATS_URL with credentials is used as given. */
  credentials?: NatsCredentials;
}

/** True when `user` can log in at `url` with `pass`: a server on our port may be someone else's. */
async function canLogIn(url: string, user: string, pass: string): Promise<boolean> {
  try {
    const nc = await connect({ servers: url, user, pass, timeout: 3000, reconnect: false });
    await nc.close();
    return true;
  } catch {
    return false;
  }
}

/**
 * The project never runs on an open bus. A NATS_URL carrying credentials
 * (nats://user:pass@host:port, an operator's own secured server) is used as given. Otherwise it
 * runs its own nats-server with the project's users and permissions on 127.0.0.1:`port` (default
 * 4229), storing in `dataDir` with the passwords in `dataDir/credentials.json` (0600); a server
 * already answering there is reused only when our admin password opens it (another `npm start` of
 * this checkout). stop() stops what it started, by PID.
 */
export async function ensureNats(opts: EnsureServiceOptions & { namespace?: string }): Promise<EnsuredNats> {
  const given = opts.url ?? process.env.NATS_URL;
  if (given) {
    try {
      const u = new URL(given);
      if (u.password || u.username) {
        const shown = `${u.protocol}//${u.host}`;
        opts.log(`nats: using ${shown} (credentials from NATS_URL)`);
        return { url: given, started: false, stop: async () => undefined };
      }
      opts.log(`nats: ${given} has no credentials; the gateway never runs on an open bus, so it starts its own`);
    } catch {
      throw new Error(`NATS_URL is not a URL: ${given}`);
    }
  }
  const dataDir = path.resolve(opts.dataDir);
  const credentials = await loadOrCreateCredentials(path.join(dataDir, 'credentials.json'));
  const namespace = opts.namespace ?? '*';
  const localPort = opts.port ?? DEFAULT_LOCAL_NATS_PORT;
  const localUrl = `nats://127.0.0.1:${localPort}`;
  if (await isTcpOpen('127.0.0.1', localPort, 1000)) {
    if (await canLogIn(localUrl, 'admin', credentials.admin)) {
      opts.log(`nats: using ${localUrl}, already running with this checkout's users (not started by this run)`);
      return { url: localUrl, started: false, credentials, stop: async () => undefined };
    }
    throw new Error(`nats: port ${localPort} is taken by a server this checkout cannot log in to; stop it or set NATS_URL with credentials`);
  }
  const bin = findNatsServer() ?? (await installNatsServer(opts.log));
  const server = await startNatsServer({ port: localPort, storeDir: dataDir, bin, detached: true, auth: { namespace, credentials } });
  opts.log(`nats: using ${server.url}, a local nats-server started with one user per service (pid ${server.pid}, data in ${dataDir})`);
  let stopping: Promise<void> | undefined;
  return {
    url: server.url,
    started: true,
    credentials,
    stop: () => (stopping ??= server.stop().then(() => opts.log('nats: stopped local nats-server'))),
  };
}
