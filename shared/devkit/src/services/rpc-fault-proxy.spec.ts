import { existsSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { anvilBinary, startAnvil, type AnvilHandle } from '../chains/evm/dev';
import { createFaultPlan, type FaultDecision, type RpcFaultRates } from './rpc-fault-plan';
import { startRpcFaultProxy, type RpcFaultProxy, type RpcFaultProxyOptions } from './index';
import { isTcpOpen } from './tcp';

// ---- a small JSON-RPC node of our own, HTTP and websocket on one port like anvil ----

interface Seen {
  method: string;
  params: unknown;
  auth?: string;
  url?: string;
}

interface FakeNode {
  url: string;
  head: number;
  seen: Seen[];
  wss: WebSocketServer;
  close(): Promise<void>;
}

async function startFakeNode(): Promise<FakeNode> {
  const server = http.createServer();
  const wss = new WebSocketServer({ server });
  const node: FakeNode = { url: '', head: 100, seen: [], wss, close: async () => undefined };
  const hex = (n: number) => `0x${n.toString(16)}`;
  const answer = (call: { id?: unknown; method: string; params?: any[] }, req: http.IncomingMessage) => {
    node.seen.push({ method: call.method, params: call.params, auth: req.headers.authorization, url: req.url });
    const ok = (result: unknown) => ({ jsonrpc: '2.0', id: call.id, result });
    switch (call.method) {
      case 'eth_blockNumber':
        return ok(hex(node.head));
      case 'getblockcount':
        return ok(node.head);
      case 'eth_getBlockByNumber':
        return ok({ number: call.params?.[0] === 'latest' ? hex(node.head) : call.params?.[0] });
      case 'echo':
        return ok(call.params);
      default:
        return { jsonrpc: '2.0', id: call.id, error: { code: -32601, message: 'method not found' } };
    }
  };
  server.on('request', (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString());
      const out = Array.isArray(body) ? body.map((c) => answer(c, req)) : answer(body, req);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(out));
    });
  });
  wss.on('connection', (ws) => ws.on('message', (data) => ws.send(`echo:${String(data)}`)));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  node.url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  node.close = async () => {
    for (const ws of wss.clients) ws.terminate();
    wss.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return node;
}

// ---- clients ----

type Outcome = { status: number; text: string } | { error: string };

/** One POST on a fresh connection; a destroyed socket is an outcome, not a throw. */
function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Outcome> {
  const data = typeof body === 'string' ? body : JSON.stringify(body);
  return new Promise((resolve) => {
    const req = http.request(url, { method: 'POST', agent: false, headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
      res.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
    req.end(data);
  });
}

const call = (method: string, params: unknown[] = [], id: unknown = 1) => ({ jsonrpc: '2.0', id, method, params });

function json(outcome: Outcome): any {
  if (!('status' in outcome)) throw new Error(`expected an answer, got ${outcome.error}`);
  expect(outcome.status).toBe(200);
  return JSON.parse(outcome.text);
}

async function until(what: string, ok: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** An open websocket that keeps every message it gets and remembers its close code. */
async function openWs(url: string): Promise<{ ws: WebSocket; messages: string[]; closed: Promise<number> }> {
  const ws = new WebSocket(url);
  const messages: string[] = [];
  ws.on('message', (data) => messages.push(String(data)));
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { ws, messages, closed };
}

/** What a websocket handshake through `url` ends in: 'open' or the error's text. */
function tryWs(url: string): Promise<string> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url);
    ws.once('open', () => {
      ws.terminate();
      resolve('open');
    });
    ws.once('error', (err) => resolve(err.message));
  });
}

async function echoThrough(url: string, text: string): Promise<void> {
  const { ws, messages } = await openWs(url);
  ws.send(text);
  await until('the echo', () => messages.includes(`echo:${text}`));
  ws.close();
}

/** The decisions a fresh plan makes for `count` requests: what the proxy must have done. */
function replay(seed: number, rates: RpcFaultRates, count: number): FaultDecision[] {
  const plan = createFaultPlan(seed, rates);
  return Array.from({ length: count }, () => plan.next());
}

// ---- specs ----

describe('rpc fault plan', () => {
  it('gives the same decisions for the same seed, other ones for another seed', () => {
    const rates = { drop: 0.1, delay: 0.1, timeout: 0.1, stale: 0.1, wrong: 0.1 };
    const a = replay(42, rates, 500);
    expect(replay(42, rates, 500)).toEqual(a);
    expect(replay(43, rates, 500)).not.toEqual(a);
    // Changing the rates mid-way keeps the stream aligned: decision i still draws the same numbers.
    const plan = createFaultPlan(42, rates);
    plan.next();
    plan.setRates({});
    expect(plan.next()).toEqual({ fault: 'pass', variant: a[1].variant });
  });

  it('draws each fault about as often as its rate says', () => {
    const rates = { drop: 0.3, delay: 0.05, wrong: 0.2 };
    const n = 20_000;
    const counts: Record<string, number> = {};
    for (const d of replay(7, rates, n)) counts[d.fault] = (counts[d.fault] ?? 0) + 1;
    expect(counts.drop / n).toBeCloseTo(0.3, 1);
    expect(counts.delay / n).toBeCloseTo(0.05, 1);
    expect(counts.wrong / n).toBeCloseTo(0.2, 1);
    expect(counts.pass / n).toBeCloseTo(0.45, 1);
    expect(counts.timeout).toBeUndefined();
    expect(counts.stale).toBeUndefined();
  });

  it('refuses rates out of range or adding up to more than 1', () => {
    expect(() => createFaultPlan(1, { drop: 1.5 })).toThrow(RangeError);
    expect(() => createFaultPlan(1, { drop: -0.1 })).toThrow(RangeError);
    expect(() => createFaultPlan(1, { drop: 0.6, wrong: 0.6 })).toThrow(/add up to/);
    expect(() => createFaultPlan(1.5)).toThrow(/integer/);
  });
});

describe('rpc fault proxy', () => {
  let node: FakeNode;
  const proxies: RpcFaultProxy[] = [];
  const start = async (opts: Partial<RpcFaultProxyOptions> = {}, target = node.url) => {
    const proxy = await startRpcFaultProxy({ target, seed: 1, ...opts });
    proxies.push(proxy);
    return proxy;
  };
  beforeEach(async () => {
    node = await startFakeNode();
  });
  afterEach(async () => {
    await Promise.all(proxies.splice(0).map((p) => p.stop()));
    await node.close();
  });

  it('relays single and batch calls untouched, with the Authorization header', async () => {
    const lines: string[] = [];
    const proxy = await start({ log: (l) => lines.push(l) });
    const auth = `Basic ${Buffer.from('cpg:secret-pass').toString('base64')}`;
    expect(json(await post(proxy.url, call('eth_blockNumber', [], 7), { authorization: auth }))).toEqual({ jsonrpc: '2.0', id: 7, result: '0x64' });
    const batch = json(await post(proxy.url, [call('eth_blockNumber', [], 1), call('getblockcount', [], 2), call('echo', ['x'], 3)], { authorization: auth }));
    expect(batch).toEqual([
      { jsonrpc: '2.0', id: 1, result: '0x64' },
      { jsonrpc: '2.0', id: 2, result: 100 },
      { jsonrpc: '2.0', id: 3, result: ['x'] },
    ]);
    expect(node.seen.map((s) => [s.method, s.auth])).toEqual([
      ['eth_blockNumber', auth],
      ['eth_blockNumber', auth],
      ['getblockcount', auth],
      ['echo', auth],
    ]);
    expect(proxy.stats()).toEqual({ drop: 0, delay: 0, timeout: 0, stale: 0, wrong: 0, passed: 2, cut: 0 });
    await echoThrough(proxy.url.replace(/^http/, 'ws'), 'hello');
    expect(lines).toEqual([]); // nothing worth a line happened
  });

  it("keeps the target's path and sends its credentials when the client has none", async () => {
    const proxy = await start({}, `${node.url.replace('//', '//cpg:pw@')}/wallet/w1`);
    json(await post(proxy.url, call('echo')));
    json(await post(`${proxy.url}/x`, call('echo'), { authorization: 'Bearer mine' }));
    expect(node.seen.map((s) => [s.url, s.auth])).toEqual([
      ['/wallet/w1', `Basic ${Buffer.from('cpg:pw').toString('base64')}`],
      ['/wallet/w1/x', 'Bearer mine'],
    ]);
  });

  it('refuses a body over 8 MB without relaying it, and goes on serving', async () => {
    const proxy = await start();
    // Declared too large: answered 413 from the headers alone.
    const answer = await new Promise<string>((resolve) => {
      const socket = net.connect(proxy.port, '127.0.0.1');
      let text = '';
      socket.on('data', (c) => (text += String(c)));
      socket.on('close', () => resolve(text));
      socket.on('error', () => undefined);
      socket.write(`POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${9 * 1024 * 1024}\r\n\r\n`);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 413 /);
    // Streamed without a length: cut short once it passes the limit (a 413 or a reset).
    const big = await post(proxy.url, `[${'"x",'.repeat(2_500_000)}"x"]`, { 'transfer-encoding': 'chunked' });
    expect('status' in big ? big.status : big.error).not.toBe(200);
    expect(node.seen).toEqual([]);
    expect(json(await post(proxy.url, call('getblockcount')))).toMatchObject({ result: 100 });
  });

  it('drop: destroys the socket unanswered, half of the time after the node has handled the call', async () => {
    const lines: string[] = [];
    const proxy = await start({ seed: 11, log: (l) => lines.push(l) });
    proxy.setFaults({ drop: 1 });
    const n = 16;
    for (let i = 0; i < n; i++) {
      const outcome = await post(proxy.url, call('echo', [i], i));
      expect(outcome).toEqual({ error: expect.stringMatching(/ECONNRESET|socket hang up/) });
    }
    const reached = replay(11, { drop: 1 }, n).filter((d) => d.variant).length;
    expect(reached).toBeGreaterThan(0);
    expect(reached).toBeLessThan(n);
    expect(node.seen).toHaveLength(reached);
    expect(proxy.stats()).toMatchObject({ drop: n, passed: 0 });
    expect(lines).toHaveLength(n + 1); // setFaults, then one per drop
    expect(lines.join('\n')).not.toMatch(/\[|params/); // methods only, never bodies
  });

  it('delay: answers correctly, after a request sent later', async () => {
    const proxy = await start({ delayMs: 1000 });
    proxy.setFaults({ delay: 1 });
    let slowDone = false;
    const slow = post(proxy.url, call('echo', ['slow'])).then((o) => {
      slowDone = true;
      return o;
    });
    await until('the delay decision', () => proxy.stats().delay === 1);
    proxy.setFaults({});
    expect(json(await post(proxy.url, call('echo', ['fast']))).result).toEqual(['fast']);
    expect(slowDone).toBe(false);
    expect(node.seen.map((s) => s.params)).toEqual([['fast']]);
    expect(json(await slow).result).toEqual(['slow']);
    expect(node.seen.map((s) => s.params)).toEqual([['fast'], ['slow']]);
    expect(proxy.stats()).toMatchObject({ delay: 1, passed: 1 });
  });

  it('timeout: holds the request unanswered, then destroys it; the node never sees it', async () => {
    const proxy = await start({ timeoutMs: 800 });
    proxy.setFaults({ timeout: 1 });
    let heldDone = false;
    const held = post(proxy.url, call('echo', ['held'])).then((o) => {
      heldDone = true;
      return o;
    });
    await until('the timeout decision', () => proxy.stats().timeout === 1);
    proxy.setFaults({});
    expect(json(await post(proxy.url, call('echo', ['other']))).result).toEqual(['other']);
    expect(heldDone).toBe(false);
    expect(await held).toEqual({ error: expect.stringMatching(/ECONNRESET|socket hang up/) });
    expect(node.seen.map((s) => s.params)).toEqual([['other']]);
  });

  it('stale: answers chain-head calls with the previous answer seen, and relays the rest', async () => {
    const proxy = await start();
    expect(json(await post(proxy.url, call('eth_blockNumber'))).result).toBe('0x64');
    expect(json(await post(proxy.url, call('eth_getBlockByNumber', ['latest', false]))).result).toEqual({ number: '0x64' });
    node.head = 105;
    proxy.setFaults({ stale: 1 });
    expect(json(await post(proxy.url, call('eth_blockNumber', [], 9)))).toEqual({ jsonrpc: '2.0', id: 9, result: '0x64' });
    expect(json(await post(proxy.url, call('eth_getBlockByNumber', ['latest', false]))).result).toEqual({ number: '0x64' });
    // Nothing remembered yet: relayed (and remembered).
    expect(json(await post(proxy.url, call('getblockcount'))).result).toBe(105);
    node.head = 110;
    expect(json(await post(proxy.url, call('getblockcount'))).result).toBe(105);
    // Not a chain-head call: relayed.
    expect(json(await post(proxy.url, call('eth_getBlockByNumber', ['0x1', false]))).result).toEqual({ number: '0x1' });
    expect(json(await post(proxy.url, [call('eth_blockNumber', [], 'a'), call('getblockcount', [], 'b')]))).toEqual([
      { jsonrpc: '2.0', id: 'a', result: '0x64' },
      { jsonrpc: '2.0', id: 'b', result: 105 },
    ]);
    // A fresh answer replaces the memory: the next stale one is that, still behind the node.
    proxy.setFaults({});
    expect(json(await post(proxy.url, call('eth_blockNumber'))).result).toBe('0x6e');
    node.head = 111;
    proxy.setFaults({ stale: 1 });
    expect(json(await post(proxy.url, call('eth_blockNumber'))).result).toBe('0x6e');
    expect(node.seen.map((s) => s.method)).toEqual(['eth_blockNumber', 'eth_getBlockByNumber', 'getblockcount', 'eth_getBlockByNumber', 'eth_blockNumber']);
    expect(proxy.stats()).toMatchObject({ stale: 5, passed: 5 });
  });

  it('wrong: answers a 502 page or a JSON-RPC -32603 error, and never asks the node', async () => {
    const proxy = await start({ seed: 5 });
    proxy.setFaults({ wrong: 1 });
    const n = 16;
    const kinds: string[] = [];
    for (let i = 0; i < n; i++) {
      const outcome = await post(proxy.url, call('echo', [], i));
      if (!('status' in outcome)) throw new Error(outcome.error);
      if (outcome.status === 502) {
        expect(() => JSON.parse(outcome.text)).toThrow();
        kinds.push('502');
      } else {
        expect(json(outcome)).toEqual({ jsonrpc: '2.0', id: i, error: { code: -32603, message: expect.any(String) } });
        kinds.push('rpc');
      }
    }
    expect(kinds).toEqual(replay(5, { wrong: 1 }, n).map((d) => (d.variant ? '502' : 'rpc')));
    expect(new Set(kinds).size).toBe(2);
    // A batch gets one error per call, by id.
    for (let i = 0; ; i++) {
      const outcome = await post(proxy.url, [call('echo', [], 'p'), call('echo', [], 'q')]);
      if ('status' in outcome && outcome.status === 502) continue;
      expect(json(outcome).map((r: any) => [r.id, r.error.code])).toEqual([
        ['p', -32603],
        ['q', -32603],
      ]);
      break;
    }
    expect(node.seen).toEqual([]);
  });

  it('gives the same outcomes for the same seed and request sequence', async () => {
    const rates = { drop: 0.15, delay: 0.15, timeout: 0.1, stale: 0.2, wrong: 0.15 };
    const run = async (seed: number) => {
      const fresh = await startFakeNode();
      const proxy = await startRpcFaultProxy({ target: fresh.url, seed, delayMs: 5, timeoutMs: 50 });
      proxy.setFaults(rates);
      const outcomes: string[] = [];
      try {
        for (let i = 0; i < 60; i++) {
          const outcome = await post(proxy.url, call(['eth_blockNumber', 'getblockcount', 'echo'][i % 3], [], i));
          outcomes.push('status' in outcome ? `${outcome.status} ${outcome.text}` : 'no answer');
          fresh.head++;
        }
        return { outcomes, stats: proxy.stats(), seen: fresh.seen.length };
      } finally {
        await proxy.stop();
        await fresh.close();
      }
    };
    const first = await run(7);
    expect(await run(7)).toEqual(first);
    expect(await run(8)).not.toEqual(first);
    // Every kind came up, so the comparison covered them all.
    for (const count of Object.values(first.stats).slice(0, 6)) expect(count).toBeGreaterThan(0);
  });

  it('cutOff refuses everything, websockets included, until resume', async () => {
    const proxy = await start();
    const wsUrl = proxy.url.replace(/^http/, 'ws');
    const live = await openWs(wsUrl);
    proxy.cutOff();
    proxy.cutOff();
    expect(await live.closed).toBe(1006);
    expect(await post(proxy.url, call('echo'))).toEqual({ error: expect.stringMatching(/ECONNRESET|socket hang up/) });
    expect(await tryWs(wsUrl)).not.toBe('open');
    expect(proxy.stats().cut).toBe(2);
    await until('the node to see its websocket close', () => node.wss.clients.size === 0);
    proxy.resume();
    expect(json(await post(proxy.url, call('echo', ['back']))).result).toEqual(['back']);
    await echoThrough(wsUrl, 'back');
    expect(node.seen.map((s) => s.params)).toEqual([['back']]);
  });

  it('dropSockets closes live websockets on both sides; new ones work', async () => {
    const proxy = await start();
    const wsUrl = proxy.url.replace(/^http/, 'ws');
    const a = await openWs(wsUrl);
    const b = await openWs(wsUrl);
    a.ws.send('one');
    await until('the echo', () => a.messages.includes('echo:one'));
    await until('the node to see both', () => node.wss.clients.size === 2);
    expect(proxy.dropSockets()).toBe(2);
    expect(await a.closed).toBe(1006);
    expect(await b.closed).toBe(1006);
    await until('the node to see them close', () => node.wss.clients.size === 0);
    const c = await openWs(wsUrl);
    c.ws.send('two');
    await until('the echo on a new websocket', () => c.messages.includes('echo:two'));
    expect(proxy.dropSockets()).toBe(1);
    expect(await c.closed).toBe(1006);
    expect(json(await post(proxy.url, call('echo', ['http']))).result).toEqual(['http']);
  });

  it('stop cancels held requests, closes websockets and frees the port', async () => {
    const proxy = await start(); // timeoutMs 15 s: stop must not wait for it
    const live = await openWs(proxy.url.replace(/^http/, 'ws'));
    proxy.setFaults({ timeout: 1 });
    const held = post(proxy.url, call('echo'));
    await until('the timeout decision', () => proxy.stats().timeout === 1);
    await proxy.stop();
    expect(await held).toEqual({ error: expect.stringMatching(/ECONNRESET|socket hang up/) });
    expect(await live.closed).toBe(1006);
    expect(await isTcpOpen('127.0.0.1', proxy.port)).toBe(false);
    const again = net.createServer();
    await new Promise<void>((resolve, reject) => again.once('error', reject).listen(proxy.port, '127.0.0.1', resolve));
    await new Promise<void>((resolve) => again.close(() => resolve()));
    await proxy.stop(); // idempotent
  }, 10_000);
});

const anvilInstalled = (() => {
  try {
    return existsSync(anvilBinary());
  } catch {
    return false;
  }
})();

(anvilInstalled ? describe : describe.skip)('rpc fault proxy in front of anvil', () => {
  let anvil: AnvilHandle;
  let proxy: RpcFaultProxy;
  beforeAll(async () => {
    anvil = await startAnvil();
    proxy = await startRpcFaultProxy({ target: anvil.rpcUrl, seed: 3 });
  });
  afterAll(async () => {
    await proxy?.stop();
    await anvil?.stop();
  });

  const rpc = async (method: string, params: unknown[] = []) => json(await post(proxy.url, call(method, params))).result;

  /** Subscribes to newHeads through the proxy; resolves once subscribed. */
  async function subscribe() {
    const sub = await openWs(proxy.url.replace(/^http/, 'ws'));
    sub.ws.send(JSON.stringify(call('eth_subscribe', ['newHeads'], 1)));
    await until('the subscription', () => sub.messages.some((m) => JSON.parse(m).id === 1));
    const heads = () => sub.messages.map((m) => JSON.parse(m)).filter((m) => m.method === 'eth_subscription');
    return { ...sub, heads };
  }

  it('carries newHeads over ws; after dropSockets a new subscription gets the next heads', async () => {
    const first = await subscribe();
    await rpc('evm_mine');
    await until('a new head', () => first.heads().length === 1);
    const mined = Number(first.heads()[0].params.result.number);
    expect(mined).toBe(Number(await rpc('eth_blockNumber')));
    expect(proxy.dropSockets()).toBe(1);
    expect(await first.closed).toBe(1006);
    const second = await subscribe();
    await rpc('evm_mine');
    await until('the next head', () => second.heads().length === 1);
    expect(Number(second.heads()[0].params.result.number)).toBe(mined + 1);
    second.ws.close();
  });

  it('stale eth_blockNumber lags behind the chain', async () => {
    const before = await rpc('eth_blockNumber');
    await rpc('evm_mine');
    proxy.setFaults({ stale: 1 });
    try {
      expect(await rpc('eth_blockNumber')).toBe(before);
    } finally {
      proxy.setFaults({});
    }
    expect(Number(await rpc('eth_blockNumber'))).toBe(Number(before) + 1);
  });
});
