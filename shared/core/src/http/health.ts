import type { Express } from 'express';
import { counterSnapshot } from './counters';

/**
 * /healthz: the process is alive (orchestrators restart it when this fails).
 * /readyz: it can do its work now (database and NATS answer); load balancers stop routing to it
 * while this fails, without restarting it. It also shows the process's counters (see counters.ts).
 */
export function mountHealth(app: Express, ready: () => Promise<Record<string, boolean>>): void {
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    let checks: Record<string, boolean>;
    try {
      checks = await ready();
    } catch {
      checks = { ready: false };
    }
    const ok = Object.values(checks).every(Boolean);
    res.status(ok ? 200 : 503).json({ status: ok ? 'ready' : 'not ready', checks, counters: counterSnapshot() });
  });
}
