import { clientIp, ipBucket, trustedProxies } from './client-ip';

describe('clientIp', () => {
  it('is the peer when the peer is not a loopback proxy, whatever X-Forwarded-For claims', () => {
    expect(clientIp('203.0.113.7', '198.51.100.1')).toBe('203.0.113.7');
  });
  it('follows X-Forwarded-For from the right through loopback proxies only', () => {
    expect(clientIp('127.0.0.1', '198.51.100.1, 203.0.113.9')).toBe('203.0.113.9');
    expect(clientIp('::1', ['198.51.100.1', '127.0.0.1'])).toBe('198.51.100.1');
    expect(clientIp('127.0.0.1', undefined)).toBe('127.0.0.1');
  });
  it('believes a listed balancer (TRUSTED_PROXIES) and nobody else', () => {
    const trusted = trustedProxies(['10.0.0.0/8', '2001:db8::5']);
    expect(clientIp('10.1.2.3', '198.51.100.1', trusted)).toBe('198.51.100.1');
    expect(clientIp('::ffff:10.1.2.3', '198.51.100.1', trusted)).toBe('198.51.100.1');
    expect(clientIp('2001:db8::5', '198.51.100.2', trusted)).toBe('198.51.100.2');
    // A client cannot pass itself off as the balancer, nor hide behind a spoofed entry.
    expect(clientIp('11.0.0.1', '10.1.2.3', trusted)).toBe('11.0.0.1');
    expect(clientIp('10.1.2.3', '198.51.100.1, 10.9.9.9', trusted)).toBe('198.51.100.1');
    expect(trusted('127.0.0.1')).toBe(true);
    expect(trustedProxies([])('10.1.2.3')).toBe(false);
  });
});

describe('ipBucket', () => {
  it('keys IPv4 as is and unwraps IPv4-mapped addresses', () => {
    expect(ipBucket('203.0.113.7')).toBe('ip:203.0.113.7');
    expect(ipBucket('::ffff:203.0.113.7')).toBe('ip:203.0.113.7');
  });
  it('keys IPv6 by /64, however the address is written', () => {
    const a = ipBucket('2001:db8:1:2:aaaa::1');
    expect(ipBucket('2001:0db8:0001:0002:ffff:ffff:ffff:ffff')).toBe(a);
    expect(ipBucket('2001:db8:1:3::1')).not.toBe(a);
    expect(ipBucket('2001:db8::1')).toBe('ip6:2001:db8:0:0::/64');
  });
});
