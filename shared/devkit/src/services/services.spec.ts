import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_DATABASE_URL, ensurePostgres, findNatsServer, formatLogLine, freePort, isTcpOpen, pgAnswers, startNatsServer, waitForTcp } from './index';

describe('tcp helpers', () => {
  it('finds a free port, which is closed, and waitForTcp gives up on it', async () => {
    const port = await freePort();
    expect(port).toBeGreaterThan(0);
    expect(await isTcpOpen('127.0.0.1', port, 200)).toBe(false);
    await expect(waitForTcp('127.0.0.1', port, 200)).rejects.toThrow(/did not accept connections/);
  });
});

describe('startNatsServer', () => {
  const bin = findNatsServer();
  let storeDir: string;
  beforeAll(() => {
    storeDir = mkdtempSync(path.join(os.tmpdir(), 'cpg-nats-'));
  });
  afterAll(() => rmSync(storeDir, { recursive: true, force: true }));

  (bin ? it : it.skip)('starts on a free port, stops, and starts again on the same port and store', async () => {
    const server = await startNatsServer({ port: 0, storeDir });
    try {
      expect(server.url).toBe(`nats://127.0.0.1:${server.port}`);
      const firstPid = server.pid;
      expect(firstPid).toBeGreaterThan(0);
      expect(await isTcpOpen('127.0.0.1', server.port)).toBe(true);

      await server.stop();
      expect(await isTcpOpen('127.0.0.1', server.port)).toBe(false);

      await server.start();
      expect(await isTcpOpen('127.0.0.1', server.port)).toBe(true);
      expect(server.pid).not.toBe(firstPid);
    } finally {
      await server.stop();
    }
    expect(await isTcpOpen('127.0.0.1', server.port)).toBe(false);
  });
});

describe('ensurePostgres', () => {
  it("uses the machine's Postgres when it answers and does not start one", async () => {
    const url = process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL;
    const lines: string[] = [];
    const pg = await ensurePostgres({ url, dataDir: path.join(os.tmpdir(), 'cpg-unused-pg'), log: (l) => lines.push(l) });
    expect(pg.started).toBe(false);
    expect(pg.url).toBe(url);
    expect(await pgAnswers(pg.url)).toBe(true);
    expect(lines.join('\n')).toMatch(/^postgres: using /);
    await pg.stop(); // a no-op: the machine's server keeps running
    expect(await pgAnswers(pg.url)).toBe(true);
  });
});

describe('formatLogLine', () => {
  it('pretty-prints pino JSON and leaves other lines alone', () => {
    const time = new Date(2024, 0, 2, 3, 4, 5).getTime();
    const line = JSON.stringify({ level: 40, time, pid: 1, hostname: 'h', service: 'payment', msg: 'slow', ms: 12, note: 'a b' });
    expect(formatLogLine(line, { omit: { service: 'payment' } })).toBe('03:04:05 WARN  slow ms=12 note="a b"');
    expect(formatLogLine('plain text {not json}')).toBe('plain text {not json}');
    expect(formatLogLine('{"a":1}')).toBe('{"a":1}');
  });
});
