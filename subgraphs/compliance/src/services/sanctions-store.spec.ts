import { promises as fs } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { loadSanctions, updateSanctions } from './sanctions-store';

const FIXTURES = path.resolve(__dirname, '..', '..', '..', '..', 'shared', 'fixtures', 'sanctions', 'brave-intl_2025-11-19');

let server: http.Server;
let base: string;
let mode: 'ok' | 'garbage' | 'down' = 'ok';
let tmp: string;

beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'cpg-sanctions-'));
  server = http.createServer(async (req, res) => {
    const name = path.basename(req.url!);
    if (mode === 'down') return void res.writeHead(503).end();
    if (mode === 'garbage' && name.includes('ETH')) return void res.writeHead(200).end('{"not":"a list"}');
    try {
      res.writeHead(200, { 'content-type': 'application/json' }).end(await fs.readFile(path.join(FIXTURES, name)));
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/lists/`;
});
afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  await fs.rm(tmp, { recursive: true, force: true });
});

describe('sanctions update command', () => {
  it('downloads every asset from the configured URL, dates it and loads', async () => {
    mode = 'ok';
    const dir = path.join(tmp, 'current');
    const out = await updateSanctions({ baseUrl: base, dir, now: new Date('2026-11-26T00:00:00Z') });
    expect(out.meta).toEqual({ date: '2026-11-26', source: base.replace(/\/$/, '') });
    expect(out.assets.ETH).toBe(77);
    const list = await loadSanctions(dir);
    expect(list.meta.date).toBe('2026-11-26');
    expect(list.lookup('EVM', 'ETH', '0x04DBA1194ee10112fE6C3207C0687DEf0e78baCf')).not.toBeNull();
  });
  it('a broken download leaves the previous list in place', async () => {
    const dir = path.join(tmp, 'current');
    for (const m of ['garbage', 'down'] as const) {
      mode = m;
      await expect(updateSanctions({ baseUrl: base, dir })).rejects.toThrow(m === 'garbage' ? /not a JSON array/ : /HTTP 503/);
      expect((await loadSanctions(dir)).meta.date).toBe('2026-11-26');
    }
    expect((await fs.readdir(tmp)).sort()).toEqual(['current']);
  });
});
