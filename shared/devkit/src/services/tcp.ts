import net from 'node:net';

/** True when something accepts a TCP connection at host:port within timeoutMs. */
export function isTcpOpen(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    let done = false;
    const finish = (open: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(open);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
  });
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Resolves once host:port accepts connections; rejects after timeoutMs. */
export async function waitForTcp(host: string, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = deadline - Date.now();
    if (await isTcpOpen(host, port, Math.max(50, Math.min(500, left)))) return;
    if (Date.now() >= deadline) throw new Error(`${host}:${port} did not accept connections within ${timeoutMs} ms`);
    await sleep(Math.min(100, Math.max(0, deadline - Date.now())));
  }
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('could not allocate a free port'))));
    });
  });
}

/** host and port of the first server in a URL such as nats://a:4222,nats://b:4222 or postgres://u@h:5432/db. */
export function hostPortOf(url: string, defaultPort: number): { host: string; port: number } {
  const first = url.split(',')[0].trim();
  const parsed = new URL(first.includes('://') ? first : `tcp://${first}`);
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1';
  return { host, port: parsed.port ? Number(parsed.port) : defaultPort };
}
