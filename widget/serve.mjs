#!/usr/bin/env node
// Serves the production build (widget/dist) for `/checkout/<token>` and proxies /graphql, HTTP and
// WebSocket, to the gateway, so the page talks to its own origin and the gateway needs no CORS.
// Plain Node, no dependencies: `node widget/serve.mjs`.
//   GATEWAY_URL  the gateway's GraphQL URL (default http://127.0.0.1:4000/graphql)
//   HOST, PORT   where to listen (default 127.0.0.1:8080)
//   DIST         the build directory (default widget/dist next to this file)
import { createReadStream, statSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = path.resolve(process.env.DIST || path.join(here, 'dist'));
const gateway = new URL(process.env.GATEWAY_URL || 'http://127.0.0.1:4000/graphql');
const host = process.env.HOST || '127.0.0.1';
const port = Number(process.env.PORT || 8080);

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.map': 'application/json',
  '.json': 'application/json',
};

// Everything the page needs comes from this origin; QR codes are data: images. frame-ancestors is
// open because merchants embed the page in an iframe on their own sites.
const CSP = [
  "default-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self' ws: wss:",
  "style-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  'frame-ancestors *',
].join('; ');

function send(res, status, file) {
  const ext = path.extname(file);
  const headers = {
    'content-type': TYPES[ext] || 'application/octet-stream',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    // Hashed asset names never change content; index.html must be re-read to pick up a new build.
    'cache-control': file.includes(`${path.sep}assets${path.sep}`) ? 'public, max-age=31536000, immutable' : 'no-cache',
  };
  if (ext === '.html') headers['content-security-policy'] = CSP;
  res.writeHead(status, headers);
  createReadStream(file).pipe(res);
}

function isFile(file) {
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

function forwardedHeaders(req) {
  const prior = req.headers['x-forwarded-for'];
  return { ...req.headers, host: gateway.host, 'x-forwarded-for': prior ? `${prior}, ${req.socket.remoteAddress}` : req.socket.remoteAddress };
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url || '/', 'http://x');
  if (url.pathname === '/graphql') {
    const upstream = http.request(gateway, { method: req.method, headers: forwardedHeaders(req) }, (up) => {
      res.writeHead(up.statusCode || 502, up.headers);
      up.pipe(res);
    });
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ errors: [{ message: 'gateway unreachable' }] }));
    });
    req.pipe(upstream);
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405).end();
    return;
  }
  // normalize() then the prefix check: no path may climb out of dist.
  const file = path.normalize(path.join(dist, decodeURIComponent(url.pathname)));
  if (file.startsWith(dist + path.sep) && isFile(file)) return send(res, 200, file);
  if (/^\/checkout\/[^/]+\/?$/.test(url.pathname)) return send(res, 200, path.join(dist, 'index.html'));
  res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
});

server.on('upgrade', (req, socket, head) => {
  if (new URL(req.url || '/', 'http://x').pathname !== '/graphql') return socket.destroy();
  const upstream = http.request(gateway, { method: 'GET', headers: forwardedHeaders(req) });
  upstream.on('upgrade', (up, upSocket, upHead) => {
    const lines = [`HTTP/1.1 101 ${up.statusMessage || 'Switching Protocols'}`];
    for (let i = 0; i < up.rawHeaders.length; i += 2) lines.push(`${up.rawHeaders[i]}: ${up.rawHeaders[i + 1]}`);
    socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    if (upHead.length) socket.write(upHead);
    if (head.length) upSocket.write(head);
    upSocket.pipe(socket).pipe(upSocket);
    const close = () => {
      socket.destroy();
      upSocket.destroy();
    };
    socket.on('error', close);
    upSocket.on('error', close);
    socket.on('close', close);
    upSocket.on('close', close);
  });
  upstream.on('response', (up) => {
    socket.end(`HTTP/1.1 ${up.statusCode} ${up.statusMessage}\r\n\r\n`);
  });
  upstream.on('error', () => socket.destroy());
  upstream.end();
});

if (!isFile(path.join(dist, 'index.html'))) {
  console.error(`widget: no build in ${dist}; run \`npm run build -w widget\` first`);
  process.exit(1);
}
server.listen(port, host, () => {
  const addr = server.address();
  console.log(`widget: ready at http://${host}:${typeof addr === 'object' && addr ? addr.port : port} (gateway ${gateway.href})`);
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => server.close(() => process.exit(0)));
