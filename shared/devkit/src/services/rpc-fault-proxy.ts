// A seeded JSON-RPC fault-injection proxy for tests: it sits in front of a dev chain (anvil,
// litecoind) and makes it drop, delay, hang, lag or fail on purpose, so fault-injection suites can
// check that the tracker and the signer keep working. Point a service at it through
// DEV_EVM_RPC_URL / DEV_LTC_RPC_URL: HTTP and websockets share its one port, as on anvil.
import http from 'node:http';
import net from 'node:net';
import {
  createFaultPlan,
  HeadMemory,
  methodNames,
  parseCalls,
  rpcErrorBody,
  type FaultDecision,
  type ParsedCalls,
  type RpcFault,
  type RpcFaultRates,
} from './rpc-fault-plan';

export { type RpcFault, type RpcFaultRates } from './rpc-fault-plan';

/** Largest request body relayed; a larger one gets 413 and is never parsed. */
export const RPC_PROXY_MAX_BODY_BYTES = 8 * 1024 * 1024;

export type RpcFaultStats = Record<RpcFault | 'passed' | 'cut', number>;

export interface RpcFaultProxy {
  /** http://127.0.0.1:<port>; the same URL with ws:// reaches the target's websocket endpoint. */
  url: string;
  port: number;
  /** Replaces the fault rates (all 0 or {} = transparent); called whenever a test changes the weather. Idempotent; throws on rates out of range. */
  setFaults(rates: RpcFaultRates): void;
  /** A full outage: destroys every open connection and websocket and refuses new ones until resume(). Idempotent. */
  cutOff(): void;
  /** Ends an outage begun by cutOff(); new connections are served again. Idempotent. */
  resume(): void;
  /** Closes every open websocket now (both ends), as a node restart would; returns how many. Called at any time; idempotent in effect. */
  dropSockets(): number;
  /**
   * Counts since start: each fault served, requests relayed untouched (`passed`, which includes a
   * `stale` draw with nothing remembered yet), and connections refused while cut off (`cut`).
   * Called at any time; returns a copy.
   */
  stats(): RpcFaultStats;
  /** Destroys every connection, cancels held requests and frees the port. Idempotent. */
  stop(): Promise<void>;
}

export interface RpcFaultProxyOptions {
  /** The upstream node, http://host:port[/path]; user:password in it is sent as Basic auth when the client sends none. */
  target: string;
  /** Seeds the fault decisions: the same seed and request sequence give the same faults. */
  seed: number;
  /** Port on 127.0.0.1; 0 or absent: a free one. */
  port?: number;
  /** How long a `delay` request waits before it is relayed (default 300 ms). */
  delayMs?: number;
  /** How long a `timeout` request is held unanswered before its socket is destroyed (default 15 s). */
  timeoutMs?: number;
  /** One line per fault and per outage event: methods and counts, never bodies, params or headers. */
  log?: (line: string) => void;
}

// Headers about one hop only; Node writes its own for the next one.
const HOP_HEADERS = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'expect',
  'host',
  'content-length',
]);

function copyHeaders(from: http.IncomingHttpHeaders, contentLength: number): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(from)) if (value !== undefined && !HOP_HEADERS.has(name)) out[name] = value;
  out['content-length'] = contentLength;
  return out;
}

type Body = Buffer | 'too-large' | 'gone';

/** The request body, refused by its declared length or as soon as it grows past the limit. */
function readBody(req: http.IncomingMessage): Promise<Body> {
  if (Number(req.headers['content-length'] ?? 0) > RPC_PROXY_MAX_BODY_BYTES) return Promise.resolve('too-large');
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (body: Body) => {
      if (settled) return;
      settled = true;
      resolve(body);
    };
    req.on('data', (chunk: Buffer) => {
      if (settled) return;
      size += chunk.length;
      if (size > RPC_PROXY_MAX_BODY_BYTES) {
        chunks.length = 0;
        settle('too-large');
      } else chunks.push(chunk);
    });
    req.once('end', () => settle(Buffer.concat(chunks)));
    req.once('close', () => settle('gone'));
  });
}

function reply(res: http.ServerResponse, status: number, contentType: string, body: Buffer | string): void {
  if (res.destroyed) return;
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  res.writeHead(status, { 'content-type': contentType, 'content-length': bytes.length }).end(bytes);
}

/**
 * Starts the proxy on 127.0.0.1 and resolves once it listens. Faults start at 0 (transparent)
 * until setFaults(). The caller stops it with stop().
 */
export async function startRpcFaultProxy(opts: RpcFaultProxyOptions): Promise<RpcFaultProxy> {
  const target = new URL(opts.target);
  if (target.protocol !== 'http:') throw new Error(`rpc-fault-proxy: target must be an http:// URL, got ${target.protocol}`);
  const targetPort = Number(target.port || 80);
  const targetBase = target.pathname.replace(/\/$/, '');
  // A bare "/" maps to the target's own path exactly: litecoind reads the wallet name from it.
  const upstreamPath = (url = '/') => (url === '/' ? targetBase || '/' : targetBase + url);
  const targetAuth =
    target.username || target.password
      ? `Basic ${Buffer.from(`${decodeURIComponent(target.username)}:${decodeURIComponent(target.password)}`).toString('base64')}`
      : undefined;
  const delayMs = opts.delayMs ?? 300;
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const plan = createFaultPlan(opts.seed);
  const heads = new HeadMemory();
  const counts: RpcFaultStats = { drop: 0, delay: 0, timeout: 0, stale: 0, wrong: 0, passed: 0, cut: 0 };
  const sockets = new Set<net.Socket>();
  /** One closer per open websocket tunnel. */
  const tunnels = new Set<() => void>();
  const timers = new Set<NodeJS.Timeout>();
  // Keep-alive to the target: a fault run sends thousands of requests and must not exhaust ports.
  const agent = new http.Agent({ keepAlive: true });
  let cut = false;
  let seq = 0;
  let port = 0;
  let stopping: Promise<void> | undefined;
  const say = (line: string) => opts.log?.(`rpc-fault-proxy :${port} -> ${target.host}: ${line}`);

  const refuse = (socket: net.Socket) => {
    counts.cut++;
    socket.destroy();
  };

  /** Runs `then` after ms unless the client has gone by then; stop() cancels it. */
  const hold = (res: http.ServerResponse, ms: number, then: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      then();
    }, ms);
    timers.add(timer);
    res.once('close', () => {
      clearTimeout(timer);
      timers.delete(timer);
    });
  };

  /** Forwards the request as received and relays the answer; `dropAnswer` destroys the socket instead. */
  const relay = (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer, parsed: ParsedCalls | undefined, dropAnswer = false) => {
    if (res.destroyed) return;
    const headers = copyHeaders(req.headers, body.length);
    headers.host = target.host;
    if (targetAuth && !headers.authorization) headers.authorization = targetAuth;
    let answered = false;
    const upstream = http.request({ host: target.hostname, port: targetPort, method: req.method, path: upstreamPath(req.url), headers, agent }, (upRes) => {
      const chunks: Buffer[] = [];
      upRes.on('data', (chunk: Buffer) => chunks.push(chunk));
      upRes.once('error', () => res.destroy());
      upRes.once('end', () => {
        answered = true;
        const answer = Buffer.concat(chunks);
        const status = upRes.statusCode ?? 502;
        heads.record(parsed, status, answer);
        if (dropAnswer) res.destroy();
        else if (!res.destroyed) res.writeHead(status, copyHeaders(upRes.headers, answer.length)).end(answer);
      });
    });
    upstream.once('error', (err: NodeJS.ErrnoException) => {
      // An unreachable target looks to the client like a dead node: the connection just ends.
      say(`upstream failed: ${err.code ?? err.message}`);
      res.destroy();
    });
    // The client gave up (or was cut off): the upstream need not finish for nobody.
    res.once('close', () => {
      if (!answered) upstream.destroy();
    });
    upstream.end(body);
  };

  const act = (n: number, { fault, variant }: FaultDecision, req: http.IncomingMessage, res: http.ServerResponse, body: Buffer) => {
    const parsed = parseCalls(body);
    const note = (what: string) => say(`#${n} ${what} (${methodNames(parsed)})`);
    switch (fault) {
      case 'pass':
        counts.passed++;
        return relay(req, res, body, parsed);
      case 'drop':
        counts.drop++;
        if (!variant) {
          note('drop');
          return void res.destroy();
        }
        note('drop after the upstream answered');
        return relay(req, res, body, parsed, true);
      case 'delay':
        counts.delay++;
        note(`delay ${delayMs} ms`);
        return hold(res, delayMs, () => relay(req, res, body, parsed));
      case 'timeout':
        counts.timeout++;
        note(`timeout: held ${timeoutMs} ms, then destroyed`);
        return hold(res, timeoutMs, () => res.destroy());
      case 'stale': {
        const answer = heads.staleAnswer(parsed);
        if (!answer) {
          counts.passed++;
          return relay(req, res, body, parsed);
        }
        counts.stale++;
        note('stale: the previous answer');
        return reply(res, 200, 'application/json', answer);
      }
      case 'wrong':
        counts.wrong++;
        note(variant ? 'wrong: 502 page' : 'wrong: JSON-RPC error');
        if (variant) return reply(res, 502, 'text/html', '<html><body><h1>502 Bad Gateway</h1></body></html>');
        return reply(res, 200, 'application/json', rpcErrorBody(parsed));
    }
  };

  const server = http.createServer((req, res) => {
    if (cut) return refuse(req.socket);
    // Decided on arrival, before the body: arrival order is what a test controls.
    const n = ++seq;
    const decision = plan.next();
    void readBody(req).then((body) => {
      if (body === 'gone' || res.destroyed) return;
      if (body === 'too-large') {
        res.setHeader('connection', 'close');
        return reply(res, 413, 'text/plain', 'request body too large');
      }
      act(n, decision, req, res, body);
    });
  });

  server.on('connection', (socket: net.Socket) => {
    if (cut) return refuse(socket);
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.on('clientError', (_err, socket: net.Socket) => socket.destroy());

  // Websockets: the upgrade request is replayed to the target and the two sockets are spliced,
  // so frames pass untouched; only whole connections are faulted (dropSockets, cutOff).
  server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    if (cut) return refuse(socket);
    const upstream = net.connect({ host: target.hostname, port: targetPort });
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      tunnels.delete(close);
      socket.destroy();
      upstream.destroy();
    };
    tunnels.add(close);
    for (const end of [socket, upstream]) {
      end.once('error', close);
      end.once('close', close);
    }
    upstream.once('connect', () => {
      const lines = [`${req.method} ${upstreamPath(req.url)} HTTP/1.1`, `Host: ${target.host}`];
      for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
        if (req.rawHeaders[i].toLowerCase() !== 'host') lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      }
      if (targetAuth && !req.headers.authorization) lines.push(`Authorization: ${targetAuth}`);
      upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (head.length > 0) upstream.write(head);
      socket.pipe(upstream);
      upstream.pipe(socket);
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  port = (server.address() as net.AddressInfo).port;

  const closeTunnels = () => {
    const open = [...tunnels];
    for (const close of open) close();
    return open.length;
  };

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    setFaults(rates) {
      plan.setRates(rates);
      say(`faults ${JSON.stringify(rates)}`);
    },
    cutOff() {
      if (!cut) say('cut off');
      cut = true;
      closeTunnels();
      for (const socket of sockets) socket.destroy();
    },
    resume() {
      if (cut) say('resumed');
      cut = false;
    },
    dropSockets() {
      const dropped = closeTunnels();
      if (dropped > 0) say(`dropped ${dropped} websocket(s)`);
      return dropped;
    },
    stats: () => ({ ...counts }),
    stop() {
      stopping ??= (async () => {
        cut = true;
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        closeTunnels();
        for (const socket of sockets) socket.destroy();
        agent.destroy();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      })();
      return stopping;
    },
  };
}
