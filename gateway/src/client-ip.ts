import { BlockList, isIPv4, isIPv6 } from 'node:net';

export function isLoopback(addr: string): boolean {
  return addr === '::1' || addr.startsWith('127.') || addr.startsWith('::ffff:127.');
}

/**
 * Loopback plus the operator's load balancers (TRUSTED_PROXIES: addresses or CIDRs): only their
 * X-Forwarded-For is believed. Behind a balancer that is not listed every customer would share the
 * balancer's address, and with it one rate-limit bucket.
 */
export function trustedProxies(cidrs: string[]): (addr: string) => boolean {
  const list = new BlockList();
  for (const entry of cidrs) {
    const [ip = '', bits] = entry.split('/');
    const family = isIPv6(ip) ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(ip, family);
    else list.addSubnet(ip, Number(bits), family);
  }
  return (addr) => {
    if (isLoopback(addr)) return true;
    const plain = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(addr)?.[1] ?? addr;
    if (isIPv4(plain)) return list.check(plain, 'ipv4');
    return isIPv6(plain) && list.check(plain, 'ipv6');
  };
}

/**
 * The client's address as express's `trust proxy` reads it: the socket's peer, and while that is
 * a trusted proxy (loopback: the widget's static server, a local balancer; TRUSTED_PROXIES), the
 * next X-Forwarded-For entry from the right. A remote client cannot pick its own address this way.
 * Used for both HTTP and graphql-ws so a caller has one identity across the two.
 */
export function clientIp(
  remoteAddress: string | undefined,
  forwardedFor: string | string[] | undefined,
  isTrusted: (addr: string) => boolean = isLoopback,
): string {
  const forwarded = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : (forwardedFor ?? ''))
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .reverse();
  const chain = [remoteAddress ?? 'unknown', ...forwarded];
  for (const addr of chain) if (!isTrusted(addr)) return addr;
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
