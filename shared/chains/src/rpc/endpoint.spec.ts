import { joinPath, prepareEndpoint, redactUrl, scrub } from './endpoint';

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('redactUrl', () => {
  it.each([
    ['http://user:hunter2@127.0.0.1:8332', 'http://***@127.0.0.1:8332'],
    ['http://user@127.0.0.1:8332/', 'http://***@127.0.0.1:8332'],
    ['https://mainnet.infura.io/v3/0123456789abcdef0123456789abcdef', 'https://mainnet.infura.io/v3/***'],
    ['https://eth-mainnet.g.alchemy.com/v2/Abc_dEf-123456789xyz', 'https://eth-mainnet.g.alchemy.com/v2/***'],
    ['https://node.example/rpc?apikey=secret', 'https://node.example/rpc?***'],
    ['https://api.trongrid.io', 'https://api.trongrid.io'],
    ['http://127.0.0.1:8545/', 'http://127.0.0.1:8545'],
  ])('%s -> %s', (raw, expected) => {
    expect(redactUrl(raw)).toBe(expected);
  });

  it('never echoes an unparseable URL', () => {
    expect(redactUrl('not a url with password')).toBe('<invalid url>');
  });
});

describe('prepareEndpoint', () => {
  it('moves URL credentials into a Basic header and out of the URL', () => {
    const ep = prepareEndpoint({ url: 'http://rpc%40user:p%3Ass@127.0.0.1:8332/' }, 0);
    expect(ep.url.toString()).toBe('http://127.0.0.1:8332/');
    expect(ep.headers.authorization).toBe(basic('rpc@user', 'p:ss'));
    expect(ep.label).toBe('http://***@127.0.0.1:8332');
    expect(ep.secrets).toContain('p:ss');
  });

  it('prefers explicit username/password over URL userinfo', () => {
    const ep = prepareEndpoint({ url: 'http://a:b@host:1', username: 'cpg', password: 'cpg-secret' }, 1);
    expect(ep.headers.authorization).toBe(basic('cpg', 'cpg-secret'));
  });

  it('sends no Authorization without credentials, and extra headers as configured', () => {
    const ep = prepareEndpoint({ url: 'https://api.trongrid.io', headers: { 'TRON-PRO-API-KEY': 'key-123456' } }, 0);
    expect(ep.headers.authorization).toBeUndefined();
    expect(ep.headers['tron-pro-api-key']).toBe('key-123456');
    expect(ep.headers['content-type']).toBe('application/json');
    expect(ep.secrets).toContain('key-123456');
  });

  it('lets a configured Authorization header replace Basic auth instead of doubling it', () => {
    const ep = prepareEndpoint({ url: 'http://u:p@host', headers: { Authorization: 'Bearer tok' } }, 0);
    expect(ep.headers.authorization).toBe('Bearer tok');
    expect(Object.keys(ep.headers).filter((k) => k.toLowerCase() === 'authorization')).toHaveLength(1);
  });

  it('rejects bad URLs without echoing them', () => {
    expect(() => prepareEndpoint({ url: 'http//user:pw@nowhere' }, 3)).toThrow('RPC endpoint #3 has an invalid URL');
    expect(() => prepareEndpoint({ url: 'ws://host:8546' }, 0)).toThrow(/only http\(s\)/);
  });
});

describe('scrub', () => {
  it('masks every secret of the endpoint', () => {
    const ep = prepareEndpoint({ url: 'https://u:pa55word@host/v3/0123456789abcdef0123', headers: { 'x-key': 'k3y-value' } }, 0);
    expect(scrub('failed https://host/v3/0123456789abcdef0123 with pa55word and k3y-value', ep)).toBe('failed https://host/v3/*** with *** and ***');
  });
});

describe('joinPath', () => {
  it('appends the API path to the base path and keeps the query', () => {
    expect(joinPath(new URL('http://127.0.0.1:8090'), '/wallet/getnowblock').toString()).toBe('http://127.0.0.1:8090/wallet/getnowblock');
    expect(joinPath(new URL('https://x.quiknode.pro/token123/'), '/wallet/getnowblock').toString()).toBe('https://x.quiknode.pro/token123/wallet/getnowblock');
    expect(joinPath(new URL('https://host/api?key=1'), 'wallet/x?visible=true').toString()).toBe('https://host/api/wallet/x?key=1&visible=true');
  });
});
