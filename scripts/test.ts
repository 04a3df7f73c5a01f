// `npm test` (and `npm run test:faults`, with --faults): makes sure Postgres and NATS (JetStream) answer, sweeps what crashed runs left
// behind, runs jest with them, prints one summary line and exits with jest's code.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureChromiumInstalled, ensureLitecoindInstalled } from './dev-chains';
import {
  aptInstall,
  ensurePostgres,
  findBinary,
  freePort,
  generateCredentials,
  startNatsServer,
  withPg,
  type EnsuredService,
  type NatsCredentials,
} from '@cpg/devkit/services';

const root = path.resolve(__dirname, '..');
const resultsFile = path.join(root, '.jest-results.json');
/** Test databases of runs that ended without cleaning up are swept after this long (the tests' nats-server is new each run). */
const LEFTOVER_AGE_MS = 60 * 60 * 1000;

const log = (line: string) => console.log(line);
const started: EnsuredService[] = [];
let jest: ChildProcess | undefined;
let signalled: NodeJS.Signals | undefined;

async function stopServices(): Promise<void> {
  for (const service of started.reverse()) {
    await service.stop().catch((err: Error) => log(`could not stop a service: ${err.message}`));
  }
  started.length = 0;
}

function onSignal(signal: NodeJS.Signals): void {
  if (signalled) return; // the terminal, npm and tsx may each deliver the same Ctrl-C
  signalled = signal;
  if (jest && jest.exitCode === null && jest.signalCode === null) jest.kill(signal); // main() cleans up after it
}
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);
process.on('SIGHUP', onSignal);

async function abortIfSignalled(): Promise<void> {
  if (!signalled) return;
  await stopServices();
  process.exit(128 + (os.constants.signals[signalled] ?? 2));
}

/** Drops cpg_t_* databases nobody is connected to that were created more than an hour ago. */
async function sweepDatabases(url: string): Promise<void> {
  await withPg(url, async (client) => {
    let names: string[];
    try {
      // A database's PG_VERSION file is written when it is created: its mtime is the creation
      // time (reading it needs a superuser or pg_read_server_files).
      const result = await client.query<{ datname: string }>(
        `select d.datname from pg_database d
          where d.datname like 'cpg\\_t\\_%'
            and not exists (select 1 from pg_stat_activity a where a.datname = d.datname)
            and (pg_stat_file('base/' || d.oid || '/PG_VERSION')).modification < now() - $1::interval`,
        [`${LEFTOVER_AGE_MS / 1000} seconds`],
      );
      names = result.rows.map((row) => row.datname);
    } catch (err) {
      log(`sweep: cannot tell the age of test databases (${(err as Error).message}); leaving them`);
      return;
    }
    let dropped = 0;
    for (const name of names) {
      try {
        await client.query(`drop database if exists ${client.escapeIdentifier(name)}`);
        dropped++;
      } catch (err) {
        log(`sweep: could not drop database ${name}: ${(err as Error).message}`);
      }
    }
    if (dropped > 0) log(`sweep: dropped ${dropped} test database(s) left by earlier runs`);
  });
}

/**
 * The tests' own nats-server with the project's users and permissions (every namespace: each test
 * file has its own), on a free port, in a directory removed afterwards. Never the machine's open
 * NATS: the tests prove the permissions hold.
 */
async function startTestNats(dataDir: string): Promise<EnsuredService & { credentials: NatsCredentials }> {
  const storeDir = path.join(dataDir, `nats-test-${process.pid}`);
  const credentials = generateCredentials();
  const bin = findBinary('nats-server', process.env.NATS_SERVER_BIN) ?? (await ensureNatsServerInstalled());
  const server = await startNatsServer({ storeDir, bin, auth: { namespace: '*', credentials, bcryptCost: 4 } });
  log(`nats: started the tests' nats-server on ${server.url} with one user per service (pid ${server.pid})`);
  return {
    url: server.url,
    started: true,
    credentials,
    stop: async () => {
      await server.stop();
      rmSync(storeDir, { recursive: true, force: true });
    },
  };
}

async function ensureNatsServerInstalled(): Promise<string> {
  if (!(await aptInstall('nats-server', log)))
    throw new Error('nats-server is not installed and cannot be installed with apt (sudo apt-get install -y nats-server)');
  const bin = findBinary('nats-server', process.env.NATS_SERVER_BIN);
  if (!bin) throw new Error('nats-server was installed but is not on PATH');
  return bin;
}

interface JestResults {
  numPassedTests?: number;
  numFailedTests?: number;
  numPendingTests?: number;
  numTotalTests?: number;
}

function readResults(): JestResults | undefined {
  if (!existsSync(resultsFile)) return undefined;
  try {
    return JSON.parse(readFileSync(resultsFile, 'utf8')) as JestResults;
  } catch {
    return undefined;
  }
}

async function main(): Promise<number> {
  const dataDir = path.join(root, '.data');
  // The tests may use the machine's Postgres (each test file makes its own database and drops it).
  const pg = await ensurePostgres({ dataDir: path.join(dataDir, 'pg'), log, machineDefault: true });
  started.push(pg);
  await abortIfSignalled();
  const nats = await startTestNats(dataDir);
  started.push(nats);
  await abortIfSignalled();

  // The chain suites start their own anvil and litecoind on free ports; litecoind must exist.
  await ensureLitecoindInstalled(log);
  await ensureChromiumInstalled(log);
  await abortIfSignalled();

  await sweepDatabases(pg.url).catch((err: Error) => log(`sweep: skipped databases (${err.message})`));
  await abortIfSignalled();

  // The fault suite stops and starts a Postgres of its own: its cluster is made here, where the
  // embedded package's ESM loader works (inside jest it does not), and started by the suite.
  const faultsEnv: NodeJS.ProcessEnv = {};
  if (process.argv.includes('--faults')) {
    const faultsPg = path.join(dataDir, 'faults-pg');
    rmSync(faultsPg, { recursive: true, force: true });
    const made = await ensurePostgres({ dataDir: faultsPg, port: await freePort(), log, embedded: true });
    await made.stop();
    faultsEnv.FAULTS_PG_DIR = faultsPg;
  }

  rmSync(resultsFile, { force: true });
  const jestBin = path.join(root, 'node_modules', '.bin', process.platform === 'win32' ? 'jest.cmd' : 'jest');
  // --faults (npm run test:faults): the fault-injection suite alone, with its own jest config.
  const faults = process.argv.includes('--faults');
  const rest = process.argv.slice(2).filter((a) => a !== '--faults');
  const args = [
    '--ci',
    '--json',
    '--outputFile=.jest-results.json',
    ...(faults ? ['--config=jest.faults.config.js', '--runInBand'] : ['--maxWorkers=2']),
    ...rest,
  ];
  const child = spawn(jestBin, args, {
    cwd: root,
    stdio: 'inherit',
    // Every service's password: the test stacks connect each service as its own NATS user, and
    // tests that play a service (or clean up) as admin.
    env: { ...process.env, ...faultsEnv, DATABASE_URL: pg.url, NATS_URL: nats.url, NATS_TEST_CREDENTIALS: JSON.stringify(nats.credentials) },
    shell: process.platform === 'win32',
  });
  jest = child;
  const jestCode = await new Promise<number>((resolve) => {
    child.once('error', (err) => {
      log(`could not run jest: ${err.message}`);
      resolve(1);
    });
    child.once('exit', (code, signal) => resolve(code ?? 128 + ((signal && os.constants.signals[signal]) || 1)));
  });

  await stopServices();
  const results = readResults();
  const passed = results?.numPassedTests ?? 0;
  const failed = results?.numFailedTests ?? 0;
  const skipped = results?.numPendingTests ?? 0;
  console.log(`tests: ${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}`);
  if (jestCode !== 0) return jestCode;
  return (results?.numTotalTests ?? 0) > 0 ? 0 : 1; // zero tests run is a failure
}

main().then(
  (code) => process.exit(code),
  async (err: Error) => {
    console.error(err?.message ?? err);
    await stopServices();
    process.exit(1);
  },
);
