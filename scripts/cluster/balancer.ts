// The load balancer in front of the gateway replicas of `npm run start:cluster` (production puts
// its own in front: docker-compose.cluster.yml, a cloud balancer). Round robin over HTTP and
// WebSocket; a replica that refuses a connection is skipped for a few seconds and the request goes
// to the next one, so killing a gateway costs no request that had not reached it.
import http from 'node:http';
import net from 'node:net';

export interface Balancer {
  url: string;
  port: number;
  stop(): Promise<void>;
}

const PENALTY_MS = 3000;

export async function startBalancer(opts: { host: string; port: number; targets: number[]; log: (line: string) => void }): Promise<Balancer> {
  let next = 0;
  const downUntil = new Map<number, number>();
  const order = (): number[] => {
    const start = next++ % opts.targets.length;
    const rotated = opts.targets.map((_, i) => opts.targets[(start + i) % opts.targets.length]!);
    const now = Date.now();
    return [...rotated.filter((p) => (downUntil.get(p) ?? 0) <= now), ...rotated.filter((p) => (downUntil.get(p) ?? 0) > now)];
  };
  const sockets = new Set<net.Socket>();

  const server = http.createServer((req, res) => {
    // The body is read once and replayed to the next replica if the first refuses the connection.
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > 2 * 1024 * 1024) {
        res.writeHead(413).end();
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const tryNext = (ports: number[]) => {
        const port = ports.shift();
        if (port === undefined) {
          if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ errors: [{ message: 'no gateway replica answers', extensions: { code: 'UNAVAILABLE' } }] }));
          return;
        }
        const upstream = http.request(
          { host: opts.host, port, method: req.method, path: req.url, headers: { ...req.headers, 'x-forwarded-for': req.socket.remoteAddress ?? '' } },
          (up) => {
            res.writeHead(up.statusCode ?? 502, up.headers);
            up.pipe(res);
          },
        );
        upstream.on('error', (err: NodeJS.ErrnoException) => {
          if (err.code === 'ECONNREFUSED' && !res.headersSent) {
            downUntil.set(port, Date.now() + PENALTY_MS);
            tryNext(ports);
          } else if (!res.headersSent) {
            res.writeHead(502).end();
          } else {
            res.destroy();
          }
        });
        upstream.end(body);
      };
      tryNext(order());
    });
  });

  server.on('upgrade', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    const head0 = [`${req.method} ${req.url} HTTP/1.1`];
    // The client's own X-Forwarded-For is dropped: the gateway believes this balancer's, so a
    // client must not be able to choose the address its rate limits are counted under.
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      if (req.rawHeaders[i]!.toLowerCase() !== 'x-forwarded-for') head0.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
    }
    head0.push(`X-Forwarded-For: ${req.socket.remoteAddress ?? ''}`);
    const tryNext = (ports: number[]) => {
      const port = ports.shift();
      if (port === undefined) return client.destroy();
      const upstream = net.connect(port, opts.host);
      let connected = false;
      upstream.once('connect', () => {
        connected = true;
        sockets.add(upstream);
        upstream.on('close', () => sockets.delete(upstream));
        upstream.write(`${head0.join('\r\n')}\r\n\r\n`);
        if (head.length) upstream.write(head);
        upstream.pipe(client).pipe(upstream);
        // A gateway that dies closes its side: the client sees the close and reconnects (to another).
        upstream.on('error', () => client.destroy());
        client.on('error', () => upstream.destroy());
      });
      upstream.once('error', (err: NodeJS.ErrnoException) => {
        if (connected) return;
        if (err.code === 'ECONNREFUSED') {
          downUntil.set(port, Date.now() + PENALTY_MS);
          tryNext(ports);
        } else {
          client.destroy();
        }
      });
    };
    tryNext(order());
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  opts.log(`balancer: http://${opts.host}:${port} -> gateways on ${opts.targets.join(', ')}`);
  return {
    url: `http://${opts.host}:${port}`,
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
