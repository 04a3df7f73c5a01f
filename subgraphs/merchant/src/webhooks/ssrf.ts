import { BlockList, isIP } from 'node:net';
import { lookup as dnsLookup } from 'node:dns/promises';

export class RefusedAddressError extends Error {}

/**
 * Addresses a webhook may never reach: the gateway's own network and the cloud metadata service
 * are on these, and a merchant choosing the URL must not be able to make us call them.
 */
const privateRanges = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  privateRanges.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [
  ['::', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
  ['64:ff9b::', 96],
] as const)
  privateRanges.addSubnet(net, bits, 'ipv6');

const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');

/** `::ffff:10.0.0.1` reaches 10.0.0.1: judge the IPv4 address it carries. */
function unmapped(address: string): { address: string; family: 'ipv4' | 'ipv6' } {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (m) return { address: m[1]!, family: 'ipv4' };
  return { address, family: isIP(address) === 6 ? 'ipv6' : 'ipv4' };
}

/**
 * Why `address` may not be called, or null when it may. Outside production loopback is allowed so
 * a developer can point an endpoint at a receiver on their machine; private and link-local are
 * refused everywhere since nothing legitimate in dev needs them.
 */
export function refusalReason(address: string, opts: { production: boolean }): string | null {
  const a = unmapped(address);
  if (isIP(a.address) === 0) return `${address} is not an IP address`;
  if (loopback.check(a.address, a.family)) return opts.production ? `${address} is a loopback address` : null;
  if (privateRanges.check(a.address, a.family)) return `${address} is a private, link-local or reserved address`;
  return null;
}

/**
 * Called once per endpoint check and once per send, with a host name (never a literal IP); must be a
 * pure lookup, safe to repeat. Rejects when the name does not resolve.
 */
export type Resolver = (host: string) => Promise<{ address: string; family: number }[]>;
const systemResolver: Resolver = (host) => dnsLookup(host, { all: true, verbatim: true });

/**
 * Resolves the host and checks every address: a name with one public and one private address is
 * refused, since the connection could go to either. Returns the addresses to connect to.
 */
export async function resolveAllowed(host: string, opts: { production: boolean; resolve?: Resolver }): Promise<{ address: string; family: number }[]> {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  let addresses: { address: string; family: number }[];
  try {
    addresses = isIP(bare) ? [{ address: bare, family: isIP(bare) }] : await (opts.resolve ?? systemResolver)(bare);
  } catch (err) {
    throw new RefusedAddressError(`${host} does not resolve: ${(err as Error).message}`);
  }
  if (!addresses.length) throw new RefusedAddressError(`${host} does not resolve`);
  for (const a of addresses) {
    const reason = refusalReason(a.address, opts);
    if (reason) throw new RefusedAddressError(`${host} refused: ${reason}`);
  }
  return addresses;
}

/** Checks an endpoint URL's shape and where it resolves; throws RefusedAddressError. */
export async function checkEndpointUrl(raw: string, opts: { production: boolean; resolve?: Resolver }): Promise<URL> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new RefusedAddressError('not a valid URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new RefusedAddressError('the URL must be http or https');
  if (url.username || url.password) throw new RefusedAddressError('the URL must not carry credentials');
  await resolveAllowed(url.hostname, opts);
  return url;
}
