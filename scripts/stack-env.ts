// What `npm start` and `npm run start:cluster` hand their processes: the shared environment without
// any secret, then each process only its own secrets, and a wait for a health URL.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { type NatsCredentials, sleep } from '@cpg/devkit/services';
import { processes } from './processes';

/** Secrets the runners hand out one by one (secretsOf): never to every process through the inherited environment. */
const SECRET_VARIABLES = [
  'OPERATOR_TOKEN',
  'GATEWAY_SECRET',
  'KEY_ENCRYPTION_KEY',
  'CHECKOUT_TOKEN_SECRET',
  'WEBHOOK_ENCRYPTION_KEY',
  'NATS_USER',
  'NATS_PASSWORD',
];

export function withoutSecrets(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out = { ...env };
  for (const name of SECRET_VARIABLES) {
    delete out[name];
    delete out[`${name}_FILE`];
  }
  return out;
}

/** `envName` from the environment, else a dev value kept in `dataDir/file` (0600) so restarts agree. */
export function devSecret(dataDir: string, envName: string, file: string, bytes = 24): string {
  const fromEnv = process.env[envName];
  if (fromEnv) return fromEnv;
  const fullPath = path.join(dataDir, file);
  try {
    const saved = readFileSync(fullPath, 'utf8').trim();
    if (saved.length >= Math.min(16, bytes * 2)) return saved;
  } catch {
    /* first start */
  }
  const value = randomBytes(bytes).toString('hex');
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(fullPath, `${value}\n`, { mode: 0o600 });
  return value;
}

export interface StackSecrets {
  /** NATS passwords of a server this project runs; absent when NATS_URL carries its own. */
  credentials?: NatsCredentials;
  operatorToken: string;
  gatewaySecret: string;
  keyEncryptionKey: string;
}

/**
 * The secrets of process `name` only (the KEK only the signer, the operator token only the gateway,
 * one NATS user each), as in production: a process that is taken over holds nothing that belongs
 * to another.
 */
export function secretsOf(name: string, s: StackSecrets): NodeJS.ProcessEnv {
  const own: NodeJS.ProcessEnv = {};
  if (s.credentials && name in s.credentials) Object.assign(own, { NATS_USER: name, NATS_PASSWORD: s.credentials[name as keyof NatsCredentials] });
  if (name === 'gateway') Object.assign(own, { OPERATOR_TOKEN: s.operatorToken, GATEWAY_SECRET: s.gatewaySecret });
  if (processes.some((p) => p.name === name && p.kind === 'subgraph')) own.GATEWAY_SECRET = s.gatewaySecret;
  if (name === 'signer') own.KEY_ENCRYPTION_KEY = s.keyEncryptionKey;
  if (name === 'payment' && process.env.CHECKOUT_TOKEN_SECRET) own.CHECKOUT_TOKEN_SECRET = process.env.CHECKOUT_TOKEN_SECRET;
  if (name === 'merchant' && process.env.WEBHOOK_ENCRYPTION_KEY) own.WEBHOOK_ENCRYPTION_KEY = process.env.WEBHOOK_ENCRYPTION_KEY;
  return own;
}

/** GET url until it answers 200; logs progress every 5 s. False on timeout or once `cancelled()`. */
export async function waitForHttp200(
  name: string,
  url: string,
  timeoutMs: number,
  opts: { log: (line: string) => void; cancelled?: () => boolean },
): Promise<boolean> {
  const startedAt = Date.now();
  let nextReport = startedAt + 5000;
  let last = 'no answer yet';
  while (!opts.cancelled?.()) {
    const status = await new Promise<number | string>((resolve) => {
      const req = http.get(url, { timeout: 2000 }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.once('timeout', () => req.destroy(new Error('timed out')));
      req.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    });
    if (status === 200) return true;
    last = typeof status === 'number' ? `HTTP ${status}` : status;
    const elapsed = Date.now() - startedAt;
    if (elapsed >= timeoutMs) return false;
    if (Date.now() >= nextReport) {
      opts.log(`start: waiting for ${name} at ${url} (${Math.round(elapsed / 1000)} s, ${last})`);
      nextReport += 5000;
    }
    await sleep(250);
  }
  return false;
}
