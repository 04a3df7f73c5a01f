import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isTcpOpen } from '@cpg/devkit/services';

/**
 * `npm start` as a newcomer runs it, in its own data directory (CPG_DATA_DIR): it never adopts the
 * machine's Postgres that merely answers on 5432, and Ctrl-C (SIGINT to its process group, as a
 * terminal sends it) stops every process it started, every time. Uses the fixed ports of
 * `npm start` (4000-4012, 4229, 54329): it fails fast when another `npm start` holds them.
 */
const root = path.resolve(__dirname, '..');
const PORTS = [4000, 4001, 4002, 4003, 4004, 4005, 4010, 4011, 4012, 4229, 54329, 8545, 19443];
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

function start(extra: NodeJS.ProcessEnv = {}): Run {
  const env: NodeJS.ProcessEnv = { ...process.env, CPG_DATA_DIR: dataDir, DEV_CHAINS: '0', WIDGET: '0', LOG_LEVEL: 'warn', ...extra };
  // As a newcomer's shell: no DATABASE_URL / NATS_URL, though the machine's Postgres answers on 5432.
  for (const name of [
    'DATABASE_URL',
    'NATS_URL',
    'NATS_TEST_CREDENTIALS',
    'OPERATOR_TOKEN',
    'GATEWAY_SECRET',
    'KEY_ENCRYPTION_KEY',
    'DEV_EVM_RPC_URL',
    'DEV_LTC_RPC_URL',
  ])
    delete env[name];
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
      expect(run.output()).toMatch(/postgres: using postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:54329\/cpg/);
      expect(run.output()).not.toMatch(/postgres: using postgres:\/\/postgres@127\.0\.0\.1:5432/);
      expect(existsSync(path.join(dataDir, 'pg', 'PG_VERSION'))).toBe(true);
      expect(run.output()).toMatch(/nats: using nats:\/\/127\.0\.0\.1:4229, a local nats-server started with one user per service/);
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

async function gatewayCall<T = any>(token: string, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const res = await fetch('http://127.0.0.1:4000/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: T; errors?: unknown };
  if (!body.data || body.errors) throw new Error(`${query.slice(0, 60)}: ${JSON.stringify(body.errors)}`);
  return body.data;
}

async function rpc<T = any>(url: string, method: string, params: unknown[], auth?: string): Promise<T> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(auth ? { authorization: `Basic ${Buffer.from(auth).toString('base64')}` } : {}) },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  const body = (await res.json()) as { result?: T; error?: { message: string } | null };
  if (body.error) throw new Error(`${method}: ${body.error.message}`);
  return body.result as T;
}

async function poll<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

const LTC_WALLET = 'http://127.0.0.1:19443/wallet/dev';
const BALANCES = '{ me { balances { coin { id } available pending held custody } } }';

test('with the dev chains: a payment stays PAID and the books unchanged across a restart; an LTC payout confirms with no manual mining', async () => {
  const t0 = Date.now();
  const run1 = startWithChains();
  let stopped = false;
  const stop = async (run: Run) => {
    process.kill(-run.child.pid!, 'SIGINT');
    expect(await run.exited).toBe(0);
  };
  try {
    await until(run1, /Crypto Payment Gateway is running/, 240_000);
    const tRunning = Date.now();
    const operator = readFileSync(path.join(dataDir, 'operator-token'), 'utf8').trim();
    const key = (await gatewayCall(operator, 'mutation { createMerchant(input: { name: "Newcomer shop" }) { secret } }')).createMerchant.secret as string;

    // A customer pays 1 ETH on dev-evm (anvil's unlocked account 2).
    const eth = (await gatewayCall(key, 'mutation { createPayment(input: { coinId: "dev-evm:ETH", amount: "1" }) { id address { address } } }')).createPayment;
    const [, , customer] = await rpc<string[]>('http://127.0.0.1:8545', 'eth_accounts', []);
    await rpc('http://127.0.0.1:8545', 'eth_sendTransaction', [{ from: customer, to: eth.address.address, value: '0xde0b6b3a7640000' }]);
    // And 1 LTC on dev-ltc, from the regtest wallet: nobody mines by hand, npm start does.
    const ltc = (await gatewayCall(key, 'mutation { createPayment(input: { coinId: "dev-ltc:LTC", amount: "1" }) { id address { address } } }')).createPayment;
    await rpc(LTC_WALLET, 'sendtoaddress', [ltc.address.address, 1], 'cpg:cpg');
    const PAYMENT = 'query($id: ID!) { payment(id: $id) { status } }';
    for (const p of [eth, ltc])
      await poll(`payment ${p.id} PAID`, async () => (await gatewayCall(key, PAYMENT, { id: p.id })).payment.status === 'PAID', 120_000);

    // The first withdrawal: 0.5 LTC to an outside address, paid from the HOT wallet the dev sweep fills.
    const to = await rpc<string>(LTC_WALLET, 'getnewaddress', [], 'cpg:cpg');
    await poll(
      '1 LTC available',
      async () => {
        const b = (await gatewayCall(key, BALANCES)).me.balances as { coin: { id: string }; available: string }[];
        return b.find((x) => x.coin.id === 'dev-ltc:LTC')?.available === '1';
      },
      60_000,
    );
    const tRequest = Date.now();
    const w = (
      await gatewayCall(key, 'mutation($i: RequestWithdrawalInput!) { requestWithdrawal(input: $i) { id status } }', {
        i: { coinId: 'dev-ltc:LTC', toAddress: to, amount: '0.5', idempotencyKey: 'first-payout' },
      })
    ).requestWithdrawal;
    const done = await poll(
      'the payout CONFIRMED',
      async () => {
        const r = (await gatewayCall(key, 'query($id: ID!) { withdrawal(id: $id) { status txHash } }', { id: w.id })).withdrawal;
        if (r.status === 'FAILED' || r.status === 'REJECTED') throw new Error(`payout ${r.status}`);
        return r.status === 'CONFIRMED' ? r : undefined;
      },
      180_000,
    );
    // The newcomer path's figures, for the closing notes (not asserted: timings live in bench/).
    console.log(
      `dev stack: running after ${((tRunning - t0) / 1000).toFixed(1)} s (empty chains); first payments PAID and LTC payout requested after ${((tRequest - tRunning) / 1000).toFixed(1)} s; payout CONFIRMED ${((Date.now() - tRequest) / 1000).toFixed(1)} s later (no manual mining)`,
    );
    const received = await rpc<number>(LTC_WALLET, 'getreceivedbyaddress', [to, 1], 'cpg:cpg');
    expect(received).toBe(0.5);
    expect(done.txHash).toBeTruthy();

    // The payout's settlement (its hold released) and the sweeps of the deposits reach the ledger
    // a hop after CONFIRMED: the books are compared once they have stopped moving.
    let before = '';
    for (let stable = 0, tries = 0; stable < 3 && tries < 60; tries++) {
      const now = JSON.stringify((await gatewayCall(key, BALANCES)).me.balances);
      stable = now === before ? stable + 1 : 0;
      before = now;
      await new Promise((r) => setTimeout(r, 1000));
    }
    await stop(run1);
    stopped = true;

    const run2 = startWithChains();
    try {
      await until(run2, /Crypto Payment Gateway is running/, 240_000);
      expect(run2.output()).not.toMatch(/not the chains this database remembers/);
      for (const p of [eth, ltc]) expect((await gatewayCall(key, PAYMENT, { id: p.id })).payment.status).toBe('PAID');
      // Blocks keep coming (regtest mining): the books must not move backwards, nor forwards.
      await new Promise((r) => setTimeout(r, 5000));
      expect(JSON.stringify((await gatewayCall(key, BALANCES)).me.balances)).toBe(before);
    } finally {
      await stop(run2);
    }
    expect(leftovers()).toEqual([]);
  } finally {
    if (!stopped) {
      try {
        process.kill(-run1.child.pid!, 'SIGINT');
        await run1.exited;
      } catch {
        /* gone */
      }
    }
  }
}, 900_000);

function startWithChains(): Run {
  return start({ DEV_CHAINS: '1', DEV_LTC_BLOCK_SECONDS: '2' });
}
