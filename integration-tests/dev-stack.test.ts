import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isTcpOpen } from '@cpg/shared/services';

/**
 * `npm start` as a newcomer runs it, in its own data directory (CPG_DATA_DIR): it never adopts the
 * machine's Postgres that merely answers on 5432, and Ctrl-C (SIGINT to its process group, as a
 * terminal sends it) stops every process it started, every time. Uses the fixed ports of
 * `npm start` (4000-4012, 4229, 54329): it fails fast when another `npm start` holds them.
 */
const root = path.resolve(__dirname, '..');
const PORTS = [4000, 4001, 4002, 4003, 4004, 4005, 4010, 4011, 4012, 4229, 54329];
let dataDir: string;

beforeAll(() => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'cpg-dev-stack-'));
  // As root the embedded Postgres runs as user postgres, which must be able to enter it.
  chmodSync(dataDir, 0o755);
});
afterAll(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

/** Processes whose command line names the data directory (postgres, nats-server) or the runner's entry points. */
function leftovers(): string[] {
  const out: string[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    let cmd: string;
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
    } catch {
      continue;
    }
    if (cmd.includes(dataDir)) out.push(`${pid} ${cmd.slice(0, 120)}`);
  }
  return out;
}

interface Run {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function start(): Run {
  const env: NodeJS.ProcessEnv = { ...process.env, CPG_DATA_DIR: dataDir, DEV_CHAINS: '0', WIDGET: '0', LOG_LEVEL: 'warn' };
  // As a newcomer's shell: no DATABASE_URL / NATS_URL, though the machine's Postgres answers on 5432.
  for (const name of ['DATABASE_URL', 'NATS_URL', 'NATS_TEST_CREDENTIALS', 'OPERATOR_TOKEN', 'GATEWAY_SECRET', 'KEY_ENCRYPTION_KEY']) delete env[name];
  const child = spawn(process.execPath, ['scripts/bootstrap.cjs', 'start'], { cwd: root, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout!.on('data', (c: Buffer) => (text += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (text += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => text, exited };
}

async function until(run: Run, pattern: RegExp, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!pattern.test(run.output())) {
    if (run.child.exitCode !== null) throw new Error(`npm start exited (${run.child.exitCode}):\n${run.output().slice(-3000)}`);
    if (Date.now() > end) throw new Error(`timed out waiting for ${pattern}:\n${run.output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

test('npm start uses its own data, and five Ctrl-C stops leave no process and no port behind', async () => {
  for (const port of PORTS) expect([port, await isTcpOpen('127.0.0.1', port, 300)]).toEqual([port, false]);
  for (let cycle = 1; cycle <= 5; cycle++) {
    const run = start();
    try {
      await until(run, /Crypto Payment Gateway is running/, 150_000);
    } catch (err) {
      try {
        process.kill(-run.child.pid!, 'SIGINT');
        await run.exited;
      } catch {
        /* already gone */
      }
      throw err;
    }
    if (cycle === 1) {
      expect(run.output()).toContain(`postgres: using the embedded Postgres under ${dataDir}`);
      expect(run.output()).not.toMatch(/postgres: using postgres:\/\/postgres@127\.0\.0\.1:5432/);
      expect(existsSync(path.join(dataDir, 'pg', 'PG_VERSION'))).toBe(true);
      expect(run.output()).toMatch(/nats: started local nats-server on nats:\/\/127\.0\.0\.1:4229 with one user per service/);
    }
    // What a terminal's Ctrl-C does: SIGINT to the whole foreground process group.
    process.kill(-run.child.pid!, 'SIGINT');
    const code = await run.exited;
    expect([cycle, code]).toEqual([cycle, 0]);
    expect([cycle, leftovers()]).toEqual([cycle, []]);
    for (const port of PORTS) expect([cycle, port, await isTcpOpen('127.0.0.1', port, 300)]).toEqual([cycle, port, false]);
    expect(existsSync(path.join(dataDir, 'children.json'))).toBe(false);
  }
}, 900_000);
