import { spawn } from 'node:child_process';
import readline from 'node:readline';
import type { Readable } from 'node:stream';
import { exitOf, forgetChild, rememberChild, stopChild } from './child-processes';

export interface SpawnManagedOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** A colour name (red, green, yellow, blue, magenta, cyan, gray, bright*) or an ANSI escape. */
  color?: string;
  /** Called with every raw output line (stdout and stderr), before formatting. */
  onLine?: (line: string) => void;
  /** Own process group: a terminal's Ctrl-C then reaches only the parent, which stops it. */
  detached?: boolean;
  /** Print nothing (tests running a whole topology); `onLine` still sees every line. */
  silent?: boolean;
}

export interface ManagedProcess {
  pid: number;
  /** Exit code; null when it was ended by a signal or could not start. */
  exited: Promise<number | null>;
  /** `signal` (default SIGTERM), then SIGKILL after `graceMs` (default 10 s); resolves on exit. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<void>;
}

const COLORS: Record<string, string> = {
  red: '\x1b[31m',
  green: '\x1b[32m',
  yellow: '\x1b[33m',
  blue: '\x1b[34m',
  magenta: '\x1b[35m',
  cyan: '\x1b[36m',
  white: '\x1b[37m',
  gray: '\x1b[90m',
  grey: '\x1b[90m',
  brightRed: '\x1b[91m',
  brightGreen: '\x1b[92m',
  brightYellow: '\x1b[93m',
  brightBlue: '\x1b[94m',
  brightMagenta: '\x1b[95m',
  brightCyan: '\x1b[96m',
};
const PALETTE = ['cyan', 'magenta', 'blue', 'green', 'yellow', 'brightCyan', 'brightMagenta', 'brightBlue', 'brightGreen'];
const RESET = '\x1b[0m';
const DIM = '\x1b[2m';
let paletteNext = 0;
let prefixWidth = 12;

/** Pads every `[name]` prefix to at least this width (set it to the longest name to align columns). */
export function setPrefixWidth(width: number): void {
  prefixWidth = Math.max(prefixWidth, width);
}

export function colorEnabled(stream: NodeJS.WriteStream = process.stdout): boolean {
  if (process.env.FORCE_COLOR !== undefined) return process.env.FORCE_COLOR !== '0' && process.env.FORCE_COLOR !== 'false';
  if (process.env.NO_COLOR) return false;
  return Boolean(stream.isTTY);
}

function colorCode(color: string | undefined): string {
  if (color?.startsWith('\x1b')) return color;
  if (color && COLORS[color]) return COLORS[color];
  return COLORS[PALETTE[paletteNext++ % PALETTE.length]];
}

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const LEVEL_COLORS: Record<string, string> = {
  TRACE: COLORS.gray,
  DEBUG: COLORS.gray,
  INFO: COLORS.green,
  WARN: COLORS.yellow,
  ERROR: COLORS.red,
  FATAL: COLORS.brightRed,
};
const HIDDEN_KEYS = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'v']);

function levelName(level: unknown): string {
  if (typeof level === 'number') {
    return (
      LEVEL_NAMES[level] ?? (level >= 60 ? 'FATAL' : level >= 50 ? 'ERROR' : level >= 40 ? 'WARN' : level >= 30 ? 'INFO' : level >= 20 ? 'DEBUG' : 'TRACE')
    );
  }
  return String(level).toUpperCase();
}

function clock(time: unknown): string {
  const date = typeof time === 'number' ? new Date(time) : typeof time === 'string' ? new Date(/^\d+$/.test(time) ? Number(time) : time) : new Date(NaN);
  if (Number.isNaN(date.getTime())) return String(time);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}`;
}

function formatValue(value: unknown): string {
  if (typeof value === 'string') return value !== '' && /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  if (value === null || typeof value !== 'object') return String(value);
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

/**
 * A pino JSON line (one object with `level` and `time`, usually `msg`) as
 * `HH:MM:SS LEVEL msg key=value ...`, an error's stack on the lines after it. Other lines are
 * returned as they are. `omit` drops extra keys (e.g. `service` when the prefix names it).
 */
export function formatLogLine(line: string, opts: { color?: boolean; omit?: Record<string, unknown> } = {}): string {
  const trimmed = line.trim();
  if (!trimmed.startsWith('{') || !trimmed.endsWith('}')) return line;
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(trimmed);
  } catch {
    return line;
  }
  if (!record || typeof record !== 'object' || Array.isArray(record) || !('level' in record) || !('time' in record)) return line;
  const level = levelName(record.level);
  const paint = (code: string | undefined, text: string) => (opts.color && code ? `${code}${text}${RESET}` : text);
  const parts = [paint(DIM, clock(record.time)), paint(LEVEL_COLORS[level], level.padEnd(5))];
  if (record.msg !== undefined && record.msg !== '') parts.push(String(record.msg));
  const stacks: string[] = [];
  for (const [key, value] of Object.entries(record)) {
    if (HIDDEN_KEYS.has(key)) continue;
    if (opts.omit && key in opts.omit && opts.omit[key] === value) continue;
    if ((key === 'err' || key === 'error') && value && typeof value === 'object' && 'message' in value) {
      const err = value as { message?: unknown; type?: unknown; stack?: unknown };
      parts.push(paint(DIM, `${key}=`) + formatValue(err.message));
      if (typeof err.stack === 'string') stacks.push(err.stack);
      continue;
    }
    parts.push(paint(DIM, `${key}=`) + formatValue(value));
  }
  const stackText = stacks.map((stack) =>
    stack
      .split('\n')
      .map((l) => `    ${l.trimStart()}`)
      .join('\n'),
  );
  return [parts.join(' '), ...stackText].join('\n');
}

/**
 * Spawns `cmd args`, printing each line of its stdout/stderr (to ours) behind a coloured, padded
 * `[name]`, with pino JSON lines pretty-printed. Stop it by PID with stop().
 */
export function spawnManaged(name: string, cmd: string, args: string[], opts: SpawnManagedOptions = {}): ManagedProcess {
  setPrefixWidth(name.length + 2);
  const useColor = colorEnabled();
  const color = colorCode(opts.color);
  const prefix = () => {
    const label = `[${name}]`.padEnd(prefixWidth);
    return useColor ? `${color}${label}${RESET}` : label;
  };
  const write = (stream: NodeJS.WriteStream, text: string) => {
    if (opts.silent) return;
    const p = prefix();
    stream.write(
      text
        .split('\n')
        .map((l) => `${p} ${l}`)
        .join('\n') + '\n',
    );
  };

  const child = spawn(cmd, args, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: opts.detached ?? false,
  });
  const exitInfo = exitOf(child);
  rememberChild(child.pid, 'SIGTERM');
  child.once('error', (err) => write(process.stderr, `failed to start ${cmd}: ${err.message}`));

  const pipe = (input: Readable | null, output: NodeJS.WriteStream) => {
    if (!input) return Promise.resolve();
    const lines = readline.createInterface({ input, crlfDelay: Infinity });
    lines.on('line', (line) => {
      try {
        opts.onLine?.(line);
      } catch {
        /* a watcher's bug must not stop the output */
      }
      write(output, formatLogLine(line, { color: useColor, omit: { service: name } }));
    });
    return new Promise<void>((resolve) => lines.once('close', resolve));
  };
  const streamsDone = Promise.all([pipe(child.stdout, process.stdout), pipe(child.stderr, process.stderr)]);

  const exited = exitInfo.then(async (info) => {
    forgetChild(child.pid);
    // let the last lines through, but do not wait for grandchildren holding the pipes open
    await Promise.race([streamsDone, new Promise((resolve) => setTimeout(resolve, 500))]);
    return info.code;
  });

  return {
    pid: child.pid ?? -1,
    exited,
    stop: (signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000) =>
      stopChild(child, exited, [{ signal, graceMs }], (next, waited) =>
        write(process.stderr, `still running ${Math.round(waited / 1000)} s after ${signal}; sending ${next}`),
      ),
  };
}
