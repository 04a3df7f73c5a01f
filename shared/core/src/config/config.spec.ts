import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, gatewayConfig, gatewayTrustConfig, parseConfig, workerConfig } from './index';

const dir = mkdtempSync(path.join(os.tmpdir(), 'cpg-config-'));
function file(name: string, content: string): string {
  const p = path.join(dir, name);
  writeFileSync(p, content);
  return p;
}
const base = { DATABASE_URL: 'postgres://x@127.0.0.1/db', NATS_URL: 'nats://127.0.0.1:4222', PORT: '0' };

describe('parseConfig', () => {
  it('reads X from X_FILE (trailing newline dropped) for the model’s own variables', () => {
    const c = parseConfig(gatewayTrustConfig, { GATEWAY_SECRET_FILE: file('gw', 'a-secret-of-24-characters\n') });
    expect(c.GATEWAY_SECRET).toBe('a-secret-of-24-characters');
  });

  it('ignores other programs’ *_FILE variables, refuses both X and X_FILE, names an unreadable file', () => {
    expect(() => parseConfig(workerConfig, { ...base, SSL_CERT_FILE: '/nonexistent' })).not.toThrow();
    expect(() => parseConfig(gatewayTrustConfig, { GATEWAY_SECRET: 'x'.repeat(20), GATEWAY_SECRET_FILE: file('gw2', 'y'.repeat(20)) })).toThrow(
      /GATEWAY_SECRET: set either GATEWAY_SECRET or GATEWAY_SECRET_FILE/,
    );
    expect(() => parseConfig(gatewayTrustConfig, { GATEWAY_SECRET_FILE: path.join(dir, 'missing') })).toThrow(/GATEWAY_SECRET_FILE: cannot read/);
  });

  it('refuses a production process without NATS credentials, accepts them from NATS_USER/NATS_PASSWORD(_FILE) or the URL', () => {
    expect(() => parseConfig(workerConfig, { ...base, NODE_ENV: 'production' })).toThrow(ConfigError);
    expect(() => parseConfig(workerConfig, { ...base, NODE_ENV: 'production' })).toThrow(/NATS_USER and NATS_PASSWORD/);
    const c = parseConfig(workerConfig, { ...base, NODE_ENV: 'production', NATS_USER: 'tracker', NATS_PASSWORD_FILE: file('np', 'pw-from-file\n') });
    expect([c.NATS_USER, c.NATS_PASSWORD]).toEqual(['tracker', 'pw-from-file']);
    expect(() => parseConfig(workerConfig, { ...base, NODE_ENV: 'production', NATS_URL: 'nats://tracker:pw@nats:4222' })).not.toThrow();
    const cluster = 'nats://tracker:pw@n1:4222,nats://n2:4222, nats://n3:4222';
    expect(() => parseConfig(workerConfig, { ...base, NODE_ENV: 'production', NATS_URL: cluster })).not.toThrow();
    expect(() => parseConfig(workerConfig, { ...base, NODE_ENV: 'development' })).not.toThrow();
  });

  it('takes a cluster as a comma-separated NATS_URL and NATS_REPLICAS 1, 3 or 5 only', () => {
    const c = parseConfig(workerConfig, { ...base, NATS_URL: 'nats://n1:4222,nats://n2:4222,nats://n3:4222', NATS_REPLICAS: '3' });
    expect(c.NATS_REPLICAS).toBe(3);
    expect(parseConfig(workerConfig, base).NATS_REPLICAS).toBe(1);
    expect(() => parseConfig(workerConfig, { ...base, NATS_REPLICAS: '2' })).toThrow(/NATS_REPLICAS must be 1, 3 or 5/);
    expect(() => parseConfig(workerConfig, { ...base, NATS_URL: 'nats://n1:4222,http://n2' })).toThrow(/NATS_URL/);
    expect(() => parseConfig(workerConfig, { ...base, NATS_URL: 'nats://n1:4222,' })).toThrow(/NATS_URL/);
  });

  it('reads TRUSTED_PROXIES as addresses and CIDRs and refuses anything else', () => {
    const gw = {
      ...base,
      OPERATOR_TOKEN: 'x'.repeat(32),
      GATEWAY_SECRET: 'y'.repeat(32),
      ...Object.fromEntries(
        ['MERCHANT', 'ADDRESS', 'PAYMENT', 'WITHDRAWAL', 'COMPLIANCE'].map((n) => [`SUBGRAPH_${n}_URL`, 'http://a:1/graphql,http://b:1/graphql']),
      ),
    };
    expect(parseConfig(gatewayConfig, { ...gw, TRUSTED_PROXIES: '10.0.0.0/8, 192.168.1.5,2001:db8::/32' }).TRUSTED_PROXIES).toEqual([
      '10.0.0.0/8',
      '192.168.1.5',
      '2001:db8::/32',
    ]);
    expect(parseConfig(gatewayConfig, gw).TRUSTED_PROXIES).toEqual([]);
    for (const bad of ['10.0.0.0/33', 'lb.internal', '10.0.0.1/8/1'])
      expect(() => parseConfig(gatewayConfig, { ...gw, TRUSTED_PROXIES: bad })).toThrow(/TRUSTED_PROXIES/);
    expect(() => parseConfig(gatewayConfig, { ...gw, SUBGRAPH_PAYMENT_URL: 'http://a:1/graphql,ftp://b' })).toThrow(/SUBGRAPH_PAYMENT_URL/);
  });
});
