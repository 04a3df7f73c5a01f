// The connection service against real HTTP servers on 127.0.0.1: one healthy, one failing, one
// hanging, one lying and one slow. Servers count what they receive, so "not retried" and "no
// traffic during the cool-down" are observed on the wire, not inferred from the client.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ChainError } from '../src/types';
import { RpcError, RpcUnavailableError, createRpcPool, type HealthChange, type RpcPool, type RpcPoolOptions } from '../src/rpc';

interface Received {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: any;
}

type Handler = (req: Received, res: http.ServerResponse) => void;

interface TestServer {
  url: string;
  port: number;
  received: Received[];
  maxInFlight: number;
  handler: Handler;
  reset(handler: Handler): void;
  close(): Promise<void>;
}

async function startServer(initial: Handler): Promise<TestServer> {
  const server = http.createServer();
  let inFlight = 0;
  const state: TestServer = {
    url: '',
    port: 0,
    received: [],
    maxInFlight: 0,
    handler: initial,
    reset(handler) {
      state.received = [];
      state.maxInFlight = 0;
      state.handler = handler;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  server.on('request', (req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (raw += chunk));
    req.on('end', () => {
      inFlight++;
      state.maxInFlight = Math.max(state.maxInFlight, inFlight);
      res.on('close', () => inFlight--);
      let body: unknown;
      try {
        body = JSON.parse(raw);
      } catch {
        body = raw;
      }
      const received = { path: req.url ?? '', headers: req.headers, body };
      state.received.push(received);
      state.handler(received, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.port = (server.address() as AddressInfo).port;
  state.url = `http://127.0.0.1:${state.port}`;
  return state;
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

const rpcResult = (res: http.ServerResponse, id: unknown, result: unknown) => json(res, 200, { jsonrpc: '2.0', id, result });
const rpcError = (res: http.ServerResponse, id: unknown, code: number, message: string, status = 200) =>
  json(res, status, { jsonrpc: '2.0', id, error: { code, message } });
/** Bitcoin Core (before JSON-RPC 2.0 support): HTTP 500, result null next to the error. */
const bitcoinError = (res: http.ServerResponse, id: unknown, code: number, message: string) => json(res, 500, { result: null, error: { code, message }, id });

const TIP = 100;

/** A correct node: EVM-ish and Bitcoin-ish JSON-RPC, plus a Tron-style HTTP API. */
const healthy: Handler = ({ path, body }, res) => {
  if (path.endsWith('/wallet/getnowblock')) return json(res, 200, { block_header: { raw_data: { number: TIP } } });
  if (path.endsWith('/wallet/bad')) return json(res, 400, { Error: 'bad request' });
  switch (body.method) {
    case 'eth_blockNumber':
      return rpcResult(res, body.id, `0x${TIP.toString(16)}`);
    case 'getblockcount':
      return rpcResult(res, body.id, TIP);
    case 'eth_call':
      return rpcError(res, body.id, -32000, 'execution reverted');
    case 'eth_getBalance':
      return rpcError(res, body.id, -32602, 'invalid params: missing address');
    case 'getrawtransaction':
      return bitcoinError(res, body.id, -5, 'No such mempool or blockchain transaction');
    default:
      return rpcError(res, body.id, -32601, 'Method not found');
  }
};
const failWith500: Handler = (_req, res) => {
  res.writeHead(500, { 'content-type': 'text/plain' });
  res.end('Internal Server Error');
};
const resetSocket: Handler = (_req, res) => {
  res.socket?.destroy();
};
const hang: Handler = () => {
  // Never answers: only the client's deadline ends the exchange.
};
const garbage: Handler = (_req, res) => {
  res.writeHead(200, { 'content-type': 'text/html' });
  res.end('<html>502 Bad Gateway</html>');
};
const wrongId: Handler = ({ body }, res) => rpcResult(res, Number(body.id) + 1, '0x64');
/** Well-formed answers from a node stuck far behind the chain. */
const behind: Handler = ({ path, body }, res) => {
  if (path.endsWith('/wallet/getnowblock')) return json(res, 200, { block_header: { raw_data: { number: 1 } } });
  return rpcResult(res, body.id, body.method === 'getblockcount' ? 1 : '0x1');
};
const SLOW_MS = 150;
const slowly: Handler = (req, res) => {
  setTimeout(() => healthy(req, res), SLOW_MS);
};

let good: TestServer;
let failing: TestServer;
let hanging: TestServer;
let lying: TestServer;
let slow: TestServer;
const pools: RpcPool[] = [];

beforeAll(async () => {
  [good, failing, hanging, lying, slow] = await Promise.all([healthy, failWith500, hang, garbage, slowly].map(startServer));
});

beforeEach(() => {
  good.reset(healthy);
  failing.reset(failWith500);
  hanging.reset(hang);
  lying.reset(garbage);
  slow.reset(slowly);
});

afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
});

afterAll(async () => {
  await Promise.all([good, failing, hanging, lying, slow].map((s) => s?.close()));
});

/** Fast settings so that the suite runs in seconds; each test overrides what it exercises. */
function pool(servers: (TestServer | string)[], opts: RpcPoolOptions = {}): RpcPool {
  const p = createRpcPool(
    servers.map((s) => ({ url: typeof s === 'string' ? s : s.url })),
    { timeoutMs: 1_000, backoff: { baseMs: 5, maxMs: 20 }, coolDownMs: 60_000, failureThreshold: 3, ...opts },
  );
  pools.push(p);
  return p;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function failure(promise: Promise<unknown>): Promise<ChainError> {
  const err = await promise.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (e: unknown) => e,
  );
  if (!(err instanceof ChainError)) throw err;
  return err;
}

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const started = Date.now();
  const value = await fn();
  return [value, Date.now() - started];
}

describe('failover and retries', () => {
  it('fails over from an endpoint answering 500 to the healthy one', async () => {
    const p = pool([failing, good]);
    expect(await p.call('eth_blockNumber')).toBe('0x64');
    expect(failing.received).toHaveLength(1);
    expect(good.received).toHaveLength(1);
    const [bad, ok] = p.health().endpoints;
    expect(bad).toMatchObject({ state: 'degraded', consecutiveFailures: 1, failures: 1, lastSuccessAt: null });
    expect(bad!.lastError).toMatch(/HTTP 500/);
    expect(ok).toMatchObject({ state: 'healthy', consecutiveFailures: 0, lastError: null });
    expect(ok!.lastSuccessAt).toBeGreaterThan(Date.now() - 5_000);
    expect(ok!.lastLatencyMs).toBeGreaterThanOrEqual(0);
  });

  it('fails over when the connection is reset', async () => {
    failing.reset(resetSocket);
    const p = pool([failing, good]);
    expect(await p.call('getblockcount')).toBe(TIP);
    expect(failing.received).toHaveLength(1);
    expect(p.health().endpoints[0]!.lastError).toMatch(/network error/);
  });

  it('retries a lone failing endpoint a bounded number of times, with backoff between tries', async () => {
    // random() = 0.5 makes the full-jitter waits 20, 40 and 80 ms.
    const p = pool([failing], { maxAttempts: 4, failureThreshold: 10, backoff: { baseMs: 40, maxMs: 1_000 }, random: () => 0.5 });
    const [err, elapsed] = await timed(() => failure(p.call('eth_blockNumber')));
    expect(err).toBeInstanceOf(RpcUnavailableError);
    expect(err.transient).toBe(true);
    expect((err as RpcUnavailableError).attempts).toHaveLength(4);
    expect(failing.received).toHaveLength(4);
    expect(elapsed).toBeGreaterThanOrEqual(135);
  });

  it('keeps a degraded preferred endpoint aside while it rests, then tries it again', async () => {
    const p = pool([failing, good], { coolDownMs: 300 });
    await p.call('eth_blockNumber');
    await p.call('eth_blockNumber');
    await p.call('eth_blockNumber');
    expect(failing.received).toHaveLength(1);
    expect(good.received).toHaveLength(3);
    await sleep(350);
    failing.reset(healthy);
    await p.call('eth_blockNumber');
    expect(failing.received).toHaveLength(1);
    expect(good.received).toHaveLength(3);
    expect(p.health().endpoints[0]!.state).toBe('healthy');
  });

  it('returns a non-transient JSON-RPC error at once, without retrying anywhere', async () => {
    const other = await startServer(healthy);
    try {
      const p = pool([good, other.url]);
      const reverted = await failure(p.call('eth_call', [{ to: '0x0' }, 'latest']));
      expect(reverted).toBeInstanceOf(RpcError);
      expect(reverted).toMatchObject({ transient: false, code: -32000 });
      expect(reverted.message).toMatch(/execution reverted/);
      expect(reverted.cause).toMatchObject({ code: -32000, message: 'execution reverted' });
      const invalid = await failure(p.call('eth_getBalance', []));
      expect(invalid).toMatchObject({ transient: false, code: -32602 });
      expect(good.received).toHaveLength(2);
      expect(other.received).toHaveLength(0);
      // The node answered properly: its health is untouched.
      expect(p.health().endpoints[0]).toMatchObject({ state: 'healthy', consecutiveFailures: 0, failures: 0 });
    } finally {
      await other.close();
    }
  });

  it("reads Bitcoin Core's HTTP 500 error body as the node's answer, classified by its code", async () => {
    const p = pool([good, failing]);
    const missing = await failure(p.call('getrawtransaction', ['00'.repeat(32), true]));
    expect(missing).toBeInstanceOf(RpcError);
    expect(missing).toMatchObject({ transient: false, code: -5 });
    expect(good.received).toHaveLength(1);
    expect(failing.received).toHaveLength(0);
    expect(p.health().endpoints[0]!.state).toBe('healthy');

    // -28 (warming up) is transient: the call moves on to the next node.
    failing.reset(({ body }, res) => bitcoinError(res, body.id, -28, 'Loading block index...'));
    const warming = pool([failing, good]);
    expect(await warming.call('getblockcount')).toBe(TIP);
    expect(failing.received).toHaveLength(1);
    expect(warming.health().endpoints[0]!.lastError).toMatch(/Loading block index/);
  });

  it.each([
    [-32005, 'limit exceeded'],
    [-32603, 'header not found'],
    [-32000, 'daily rate limit reached'],
  ])('fails over on the transient JSON-RPC error %i %s', async (code, message) => {
    failing.reset(({ body }, res) => rpcError(res, body.id, code, message));
    const p = pool([failing, good]);
    expect(await p.call('eth_blockNumber')).toBe('0x64');
    expect(failing.received).toHaveLength(1);
    expect(good.received).toHaveLength(1);
  });
});

describe('circuit breaker', () => {
  it('opens after N consecutive failures, lets nothing through during the cool-down, then one trial', async () => {
    const changes: HealthChange[] = [];
    const p = pool([failing], { failureThreshold: 3, maxAttempts: 5, coolDownMs: 300, onHealthChange: (c) => changes.push(c) });

    // Five attempts allowed, but the circuit opens after the third failure.
    expect(await failure(p.call('eth_blockNumber'))).toBeInstanceOf(RpcUnavailableError);
    expect(failing.received).toHaveLength(3);
    const down = p.health().endpoints[0]!;
    expect(down).toMatchObject({ state: 'down', consecutiveFailures: 3 });
    expect(down.circuitOpenUntil).toBeGreaterThan(Date.now());

    const [refused, elapsed] = await timed(() => failure(p.call('eth_blockNumber')));
    expect(refused.message).toMatch(/all circuits open/);
    expect(refused.transient).toBe(true);
    expect(elapsed).toBeLessThan(100);
    expect(failing.received).toHaveLength(3);

    await sleep(350);
    await failure(p.call('eth_blockNumber'));
    expect(failing.received).toHaveLength(4); // exactly one trial, which failed and re-opened the circuit
    await failure(p.call('eth_blockNumber'));
    expect(failing.received).toHaveLength(4);

    failing.reset(healthy);
    await sleep(350);
    expect(await p.call('eth_blockNumber')).toBe('0x64');
    expect(failing.received).toHaveLength(1);
    expect(p.health().endpoints[0]).toMatchObject({ state: 'healthy', consecutiveFailures: 0, circuitOpenUntil: null });
    expect(changes.map((c) => `${c.from}->${c.to}`)).toEqual(['healthy->degraded', 'degraded->down', 'down->healthy']);
    expect(changes[1]!.health.lastError).toMatch(/HTTP 500/);
  });

  it('with a healthy peer: no traffic to the open endpoint, its trial comes first and failover hides the failure', async () => {
    const p = pool([failing, good], { failureThreshold: 1, coolDownMs: 300 });
    for (let i = 0; i < 4; i++) expect(await p.call('eth_blockNumber')).toBe('0x64');
    expect(failing.received).toHaveLength(1);
    expect(good.received).toHaveLength(4);
    expect(p.health().endpoints.map((e) => e.state)).toEqual(['down', 'healthy']);

    await sleep(350);
    expect(await p.call('eth_blockNumber')).toBe('0x64');
    expect(failing.received).toHaveLength(2);
    expect(good.received).toHaveLength(5);
    expect(await p.call('eth_blockNumber')).toBe('0x64');
    expect(failing.received).toHaveLength(2);
  });
});

describe('timeouts', () => {
  it('times out a hanging endpoint and fails over', async () => {
    const p = pool([hanging, good], { timeoutMs: 200 });
    const [tip, elapsed] = await timed(() => p.call('eth_blockNumber'));
    expect(tip).toBe('0x64');
    expect(elapsed).toBeGreaterThanOrEqual(190);
    expect(elapsed).toBeLessThan(2_000);
    expect(hanging.received).toHaveLength(1);
    expect(p.health().endpoints[0]!.lastError).toMatch(/timeout after 200 ms/);
  });

  it('bounds the attempts on a lone hanging endpoint, and a per-call deadline overrides the pool', async () => {
    const p = pool([hanging], { timeoutMs: 5_000, maxAttempts: 2 });
    const [err, elapsed] = await timed(() => failure(p.call('eth_blockNumber', [], { timeoutMs: 150 })));
    expect(err.transient).toBe(true);
    expect(err.message).toMatch(/timeout after 150 ms/);
    expect(hanging.received).toHaveLength(2);
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(2_000);
  });
});

describe('lying endpoints', () => {
  it('fails over on a non-JSON answer and does not ask the liar again in the same call', async () => {
    const p = pool([lying, good]);
    expect(await p.call('eth_blockNumber')).toBe('0x64');
    expect(p.health().endpoints[0]!.lastError).toMatch(/not JSON/);

    const alone = pool([lying], { maxAttempts: 3 });
    lying.reset(garbage);
    const err = await failure(alone.call('eth_blockNumber'));
    expect(err.transient).toBe(true);
    expect(lying.received).toHaveLength(1);
  });

  it('rejects an answer carrying another request id', async () => {
    lying.reset(wrongId);
    const p = pool([lying, good]);
    expect(await p.call('eth_blockNumber')).toBe('0x64');
    expect(lying.received).toHaveLength(1);
    expect(p.health().endpoints[0]!.lastError).toMatch(/another request id/);
  });

  it('lets validate reject an implausible result, which counts against the liar', async () => {
    lying.reset(behind);
    const p = pool([lying, good]);
    const validate = (hex: string) => parseInt(hex, 16) >= TIP - 10 || `tip ${parseInt(hex, 16)} far behind ${TIP}`;
    expect(await p.call('eth_blockNumber', [], { validate })).toBe('0x64');
    expect(lying.received).toHaveLength(1);
    expect(p.health().endpoints[0]).toMatchObject({ state: 'degraded', consecutiveFailures: 1 });
    expect(p.health().endpoints[0]!.lastError).toMatch(/tip 1 far behind 100/);
  });

  it('passes an exception thrown by validate to the caller unchanged, without retrying', async () => {
    const p = pool([good, lying]);
    const boom = new Error('caller bug');
    await expect(
      p.call('eth_blockNumber', [], {
        validate: () => {
          throw boom;
        },
      }),
    ).rejects.toBe(boom);
    expect(good.received).toHaveLength(1);
    expect(lying.received).toHaveLength(0);
  });

  it("callAll returns every admitted endpoint's answer so a watcher can take the highest tip", async () => {
    lying.reset(behind);
    const p = pool([lying, good, failing, slow], { failureThreshold: 1 });
    const answers = await p.callAll<string>('eth_blockNumber');
    expect(answers.map((a) => [a.index, a.ok])).toEqual([
      [0, true],
      [1, true],
      [2, false],
      [3, true],
    ]);
    const tips = answers.flatMap((a) => (a.ok ? [parseInt(a.result, 16)] : []));
    expect(Math.max(...tips)).toBe(TIP);
    expect(tips).toContain(1);
    const failed = answers[2]!;
    expect(!failed.ok && failed.error.transient).toBe(true);

    // The failing endpoint's circuit is now open: the next round skips it entirely.
    const again = await p.callAll<string>('eth_blockNumber');
    expect(again.map((a) => a.index)).toEqual([0, 1, 3]);
    expect(failing.received).toHaveLength(1);
    for (const s of [lying, good, slow]) expect(s.received).toHaveLength(2);
  });

  it('callAll throws when no endpoint answers, the definitive error first', async () => {
    const p = pool([failing, hanging], { timeoutMs: 150 });
    const err = await failure(p.callAll('eth_blockNumber'));
    expect(err).toBeInstanceOf(RpcUnavailableError);
    expect(err.transient).toBe(true);
    const q = pool([good]);
    expect(await failure(q.callAll('eth_call'))).toMatchObject({ transient: false, code: -32000 });
  });
});

describe('concurrency limit', () => {
  it('never has more than maxConcurrency requests in flight; the other callers queue', async () => {
    const p = pool([slow], { maxConcurrency: 3 });
    const calls = Array.from({ length: 10 }, () => p.call('eth_blockNumber'));
    await sleep(20);
    expect(p.health()).toMatchObject({ inFlight: 3, queued: 7 });
    expect(await Promise.all(calls)).toEqual(Array(10).fill('0x64'));
    expect(slow.received).toHaveLength(10);
    expect(slow.maxInFlight).toBe(3);
    expect(p.health()).toMatchObject({ inFlight: 0, queued: 0 });
  });

  it('applies one limit to the whole pool, fan-out included', async () => {
    // One counter across both servers: the limit is per pool, not per endpoint.
    let current = 0;
    let peak = 0;
    const counted: Handler = (req, res) => {
      peak = Math.max(peak, ++current);
      res.on('close', () => current--);
      slowly(req, res);
    };
    slow.reset(counted);
    const other = await startServer(counted);
    try {
      const p = pool([slow, other.url], { maxConcurrency: 2 });
      const work = [p.callAll('eth_blockNumber'), p.call('eth_blockNumber'), p.call('eth_blockNumber'), p.callAll('eth_blockNumber')];
      await sleep(20);
      expect(p.health()).toMatchObject({ inFlight: 2, queued: 4 });
      await Promise.all(work);
      expect(peak).toBe(2);
      expect(slow.received.length + other.received.length).toBe(6);
    } finally {
      await other.close();
    }
  });

  it('lets a queued caller give up without sending anything', async () => {
    const p = pool([slow], { maxConcurrency: 1 });
    const first = p.call('eth_blockNumber');
    const ctl = new AbortController();
    const second = p.call('eth_blockNumber', [], { signal: ctl.signal });
    ctl.abort();
    const err = await failure(second);
    expect(err.message).toMatch(/aborted by the caller/);
    expect(err.transient).toBe(false);
    expect(await first).toBe('0x64');
    expect(slow.received).toHaveLength(1);
    expect(p.health().endpoints[0]).toMatchObject({ state: 'healthy', failures: 0, requests: 1 });
  });
});

describe('post() for Tron-style HTTP APIs', () => {
  it('fails over past a failing, a hanging and a lying endpoint', async () => {
    const p = pool([failing, hanging, lying, good], { timeoutMs: 200 });
    const block = await p.post<{ block_header: { raw_data: { number: number } } }>('/wallet/getnowblock', {});
    expect(block.block_header.raw_data.number).toBe(TIP);
    for (const s of [failing, hanging, lying, good]) expect(s.received).toHaveLength(1);
    expect(good.received[0]!.path).toBe('/wallet/getnowblock');
    expect(p.health().endpoints.map((e) => e.lastError?.replace(/ .*/, ''))).toEqual(['HTTP', 'timeout', 'invalid', undefined]);
  });

  it('validates, retries with backoff and fans out like call()', async () => {
    lying.reset(behind);
    const p = pool([lying, good]);
    const validate = (b: { block_header: { raw_data: { number: number } } }) => b.block_header.raw_data.number > 10;
    expect(await p.post('/wallet/getnowblock', {}, { validate })).toMatchObject({ block_header: { raw_data: { number: TIP } } });
    const all = await p.postAll<{ block_header: { raw_data: { number: number } } }>('/wallet/getnowblock', {});
    expect(all.flatMap((a) => (a.ok ? [a.result.block_header.raw_data.number] : []))).toEqual([1, TIP]);

    const lone = pool([failing], { maxAttempts: 3, failureThreshold: 10 });
    await failure(lone.post('/wallet/getnowblock', {}));
    expect(failing.received).toHaveLength(3);
  });

  it('keeps the base path of the endpoint URL and sends the configured headers', async () => {
    const p = createRpcPool([{ url: `${good.url}/tron/`, headers: { 'TRON-PRO-API-KEY': 'pro-key-1234' } }]);
    pools.push(p);
    await p.post('/wallet/getnowblock', { visible: true });
    expect(good.received[0]!.path).toBe('/tron/wallet/getnowblock');
    expect(good.received[0]!.headers['tron-pro-api-key']).toBe('pro-key-1234');
    expect(good.received[0]!.body).toEqual({ visible: true });
  });

  it("does not retry a 400, the request's own fault", async () => {
    const other = await startServer(healthy);
    try {
      const p = pool([good, other.url]);
      const err = await failure(p.post('/wallet/bad', {}));
      expect(err.transient).toBe(false);
      expect(err.message).toMatch(/HTTP 400/);
      expect(good.received).toHaveLength(1);
      expect(other.received).toHaveLength(0);
    } finally {
      await other.close();
    }
  });
});

describe('credentials', () => {
  const SECRET = 's3cret-Pa55';

  it('sends Basic auth from URL userinfo and never shows it in errors or health', async () => {
    const p = createRpcPool([{ url: `http://cpg:${SECRET}@127.0.0.1:${failing.port}` }, { url: `http://cpg:${SECRET}@127.0.0.1:${good.port}/` }], {
      maxAttempts: 2,
      backoff: { baseMs: 1, maxMs: 1 },
    });
    pools.push(p);
    expect(await p.call('getblockcount')).toBe(TIP);
    const auth = good.received[0]!.headers.authorization!;
    expect(Buffer.from(auth.replace(/^Basic /, ''), 'base64').toString()).toBe(`cpg:${SECRET}`);

    good.reset(resetSocket);
    const err = await failure(p.call('getblockcount'));
    const shown = JSON.stringify({ message: err.message, attempts: (err as RpcUnavailableError).attempts, health: p.health() });
    expect(shown).not.toContain(SECRET);
    expect(shown).not.toContain(Buffer.from(`cpg:${SECRET}`).toString('base64'));
    expect(shown).toContain(`http://***@127.0.0.1:${good.port}`);
  });

  it('uses username/password fields and per-endpoint headers', async () => {
    const p = createRpcPool([{ url: good.url, username: 'rpcuser', password: 'p@ss:word', headers: { 'X-Api-Key': 'abc' } }]);
    pools.push(p);
    await p.call('getblockcount');
    const { authorization, 'x-api-key': apiKey } = good.received[0]!.headers;
    expect(Buffer.from(authorization!.replace(/^Basic /, ''), 'base64').toString()).toBe('rpcuser:p@ss:word');
    expect(apiKey).toBe('abc');
  });
});

describe('health and lifecycle', () => {
  it('marks a slow endpoint degraded and prefers the fast one afterwards', async () => {
    const p = pool([slow, good], { slowMs: 50 });
    expect(await p.call('eth_blockNumber')).toBe('0x64');
    const [s] = p.health().endpoints;
    expect(s).toMatchObject({ state: 'degraded', consecutiveFailures: 0, lastError: null });
    expect(s!.lastLatencyMs).toBeGreaterThanOrEqual(SLOW_MS - 10);
    await p.call('eth_blockNumber');
    expect(slow.received).toHaveLength(1);
    expect(good.received).toHaveLength(1);
  });

  it('restricts a call to endpoints with a capability', async () => {
    const p = createRpcPool([{ url: failing.url }, { url: good.url, supportsTracing: true }]);
    pools.push(p);
    await p.call('getblockcount', [], { filter: (e) => e.supportsTracing === true });
    expect(failing.received).toHaveLength(0);
    await expect(p.call('x', [], { filter: () => false })).rejects.toThrow(/no configured endpoint matches/);
  });

  it('close() aborts requests in flight, rejects queued and later calls, and is idempotent', async () => {
    const p = pool([hanging], { timeoutMs: 10_000, maxConcurrency: 1 });
    const inFlight = failure(p.call('eth_blockNumber'));
    const queued = failure(p.call('eth_blockNumber'));
    await sleep(50);
    expect(hanging.received).toHaveLength(1);
    await p.close();
    await p.close();
    for (const err of await Promise.all([inFlight, queued])) {
      expect(err.message).toMatch(/rpc pool closed/);
      expect(err.transient).toBe(false);
    }
    await expect(p.call('eth_blockNumber')).rejects.toThrow(/rpc pool closed/);
    expect(hanging.received).toHaveLength(1);
    // Closing is not the endpoint's fault.
    expect(p.health().endpoints[0]).toMatchObject({ failures: 0, state: 'healthy', inFlight: 0 });
  });
});
