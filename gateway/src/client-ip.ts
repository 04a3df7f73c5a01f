import { isIPv4, isIPv6 } from 'node:net';

function isLoopback(addr: string): boolean {
  return addr === '::1' || addr.startsWith('127.') || addr.startsWith('::ffff:127.');
}

/**
 * The client's address as express's `trust proxy: loopback` reads it: the socket's peer, and
 * while that is a loopback proxy (the widget's static server, a local reverse proxy), the next
 * X-Forwarded-For entry from the right. A remote client cannot pick its own address this way.
 * Used for both HTTP and graphql-ws so a caller has one identity across the two.
 */
export function clientIp(remoteAddress: string | undefined, forwardedFor: string | string[] | undefined): string {
  const forwarded = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : (forwardedFor ?? ''))
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .reverse();
  const chain = [remoteAddress ?? 'unknown', ...forwarded];
  for (const addr of chain) if (!isLoopback(addr)) return addr;
  return chain[chain.length - 1]!;
}

/**
 * The rate-limit key of an address: IPv4 as is (IPv4-mapped IPv6 unwrapped), IPv6 by its /64,
 * since one host is commonly given a whole /64 and could otherwise take a fresh bucket (and push
 * others out of the limiter) with every request.
 */
export function ipBucket(addr: string): string {
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(addr)?.[1];
  if (v4) return `ip:${v4}`;
  if (isIPv4(addr) || !isIPv6(addr)) return `ip:${addr}`;
  const [head = '', tail = ''] = addr.split('%')[0]!.split('::');
  const left = head ? head.split(':') : [];
  const right = addr.includes('::') && tail ? tail.split(':') : [];
  const groups = addr.includes('::') ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right] : left;
  return `ip6:${groups
    .slice(0, 4)
    .map((g) => parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}
