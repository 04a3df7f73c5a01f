import { AsyncLocalStorage } from 'node:async_hooks';
import pino, { type Logger } from 'pino';

export type { Logger };

/** Context carried through a request or a message handler so every log line names it. */
export interface LogContext {
  requestId?: string;
  merchantId?: string;
  subject?: string;
  messageId?: string;
  [key: string]: unknown;
}

const storage = new AsyncLocalStorage<LogContext>();

// Never let secrets reach a log line, whatever a caller passes in.
const redact = {
  paths: [
    'secret',
    '*.secret',
    'privateKey',
    '*.privateKey',
    'authorization',
    '*.authorization',
    'headers.authorization',
    'req.headers.authorization',
    'signingSecret',
    '*.signingSecret',
    'mnemonic',
    '*.mnemonic',
    // An API key's proof (what the gateway sends instead of the key) and its stored hash.
    'proof',
    '*.proof',
    'proofHash',
    '*.proofHash',
  ],
  censor: '[redacted]',
};

/** `destination` defaults to stdout; tests pass their own to read what a process writes. */
export function createLogger(service: string, level = 'info', destination?: pino.DestinationStream): Logger {
  const options = {
    level,
    base: { service },
    redact,
    timestamp: pino.stdTimeFunctions.isoTime,
    mixin: () => storage.getStore() ?? {},
  };
  return destination ? pino(options, destination) : pino(options);
}

/** Runs `fn` with `ctx` merged into every log line written inside it (async included). */
export function withLogContext<T>(ctx: LogContext, fn: () => T): T {
  return storage.run({ ...(storage.getStore() ?? {}), ...ctx }, fn);
}

export function currentLogContext(): LogContext {
  return storage.getStore() ?? {};
}
