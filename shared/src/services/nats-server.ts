import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { aptInstall, findBinary } from './apt';
import { exitOf, forgetChild, rememberChild, stopChild, tailOf, type ExitInfo } from './child-processes';
import type { EnsuredService, EnsureServiceOptions } from './postgres';
import { freePort, hostPortOf, isTcpOpen, waitForTcp } from './tcp';

export const DEFAULT_NATS_URL = 'nats://127.0.0.1:4222';
export const DEFAULT_LOCAL_NATS_PORT = 4229;

export interface NatsServerHandle {
  url: string;
  port: number;
  /** PID of the current nats-server process (changes after stop() + start()). */
  readonly pid: number;
  /** SIGTERM, SIGKILL after 5 s; resolves once the process has exited. */
  stop(): Promise<void>;
  /** After stop(): starts again on the same port and store dir; resolves once the port answers. */
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
    const logFd = openSync(logFile, 'a');
    const proc = spawn(bin, ['-a', host, '-p', String(port), '-js', '-sd', storeDir, '-P', path.join(storeDir, 'nats-server.pid')], {
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

  const stop = (): Promise<void> => {
    const proc = child;
    if (!proc) return Promise.resolve();
    stopping ??= (async () => {
      await stopChild(proc, exited, [{ signal: 'SIGTERM', graceMs: 5000 }]);
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
    stop,
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

/**
 * Uses `opts.url` (default NATS_URL, else nats://127.0.0.1:4222) when its TCP port answers;
 * otherwise runs nats-server with JetStream on 127.0.0.1:`port` (default 4229), storing in
 * `dataDir`; stop() then stops it by PID.
 */
export async function ensureNats(opts: EnsureServiceOptions): Promise<EnsuredService> {
  const url = opts.url ?? process.env.NATS_URL ?? DEFAULT_NATS_URL;
  const { host, port } = hostPortOf(url, 4222);
  if (await isTcpOpen(host, port, 1000)) {
    opts.log(`nats: using ${url}`);
    return { url, started: false, stop: async () => undefined };
  }
  const localPort = opts.port ?? DEFAULT_LOCAL_NATS_PORT;
  const localUrl = `nats://127.0.0.1:${localPort}`;
  // Another run of this checkout (npm start while npm test runs) may already serve it.
  if (await isTcpOpen('127.0.0.1', localPort, 1000)) {
    opts.log(`nats: ${url} does not answer; using ${localUrl}, already running (not started by this run)`);
    return { url: localUrl, started: false, stop: async () => undefined };
  }
  const bin = findNatsServer() ?? (await installNatsServer(opts.log));
  const server = await startNatsServer({ port: localPort, storeDir: opts.dataDir, bin, detached: true });
  opts.log(`nats: started local nats-server on ${server.url} (pid ${server.pid}, data in ${path.resolve(opts.dataDir)})`);
  let stopping: Promise<void> | undefined;
  return {
    url: server.url,
    started: true,
    stop: () => (stopping ??= server.stop().then(() => opts.log('nats: stopped local nats-server'))),
  };
}
