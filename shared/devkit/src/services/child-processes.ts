import type { ChildProcess } from 'node:child_process';
import { promises as fs, readFileSync, rmSync, writeFileSync } from 'node:fs';

/**
 * Children we started are stopped by their PID when this process exits without stopping them
 * (an uncaught error, process.exit): the `exit` event can only signal synchronously, so this is
 * a best-effort last word; a normal shutdown stops each child itself and waits for it.
 */
const killOnExit = new Map<number, NodeJS.Signals>();
let exitHooked = false;

/**
 * Where the children this process started are written down (npm start: .data/children.json), so
 * that a runner killed too hard to stop them (SIGKILL, a closed terminal) has its leftovers reaped
 * by the next start. Each entry keeps the child's command line, so a PID the system has since
 * given to another program is never signalled.
 */
let registryFile: string | undefined;
const commandLines = new Map<number, string>();

export function recordChildrenIn(file: string): void {
  registryFile = file;
  writeRegistry();
}

function writeRegistry(): void {
  if (!registryFile) return;
  const children = [...killOnExit].map(([pid, signal]) => ({ pid, signal, cmd: commandLines.get(pid) ?? '' }));
  try {
    if (children.length) writeFileSync(registryFile, `${JSON.stringify({ runner: { pid: process.pid, cmd: commandLineSync(process.pid) }, children })}\n`);
    else rmSync(registryFile, { force: true });
  } catch {
    /* best effort: the data directory may be gone */
  }
}

function commandLineSync(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return '';
  }
}

/**
 * Stops what an earlier run recorded and never stopped (same PID and same command line), SIGTERM
 * then SIGKILL after `graceMs`; returns how many it stopped. Nothing is touched while the run that
 * recorded them is still alive.
 */
export async function reapRecordedChildren(file: string, log: (line: string) => void, graceMs = 5000): Promise<number> {
  type Row = { pid: number; signal: NodeJS.Signals; cmd: string };
  let recorded: { runner?: { pid: number; cmd: string }; children?: Row[] };
  try {
    recorded = JSON.parse(readFileSync(file, 'utf8')) as typeof recorded;
  } catch {
    return 0;
  }
  // The run that wrote it is still alive: its children are not leftovers.
  const runner = recorded.runner;
  if (runner && runner.pid !== process.pid && pidAlive(runner.pid) && commandLineSync(runner.pid) === runner.cmd) return 0;
  const rows = recorded.children ?? [];
  let reaped = 0;
  for (const row of rows) {
    if (!Number.isInteger(row.pid) || row.pid <= 1 || !pidAlive(row.pid)) continue;
    const cmd = commandLineSync(row.pid);
    if (!cmd || cmd !== row.cmd) continue;
    log(`start: stopping pid ${row.pid} left running by an earlier run (${cmd.slice(0, 80)})`);
    try {
      process.kill(row.pid, row.signal ?? 'SIGTERM');
    } catch {
      continue;
    }
    const until = Date.now() + graceMs;
    while (pidAlive(row.pid) && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    if (pidAlive(row.pid)) {
      try {
        process.kill(row.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    reaped++;
  }
  rmSync(file, { force: true });
  return reaped;
}

export function rememberChild(pid: number | undefined, signal: NodeJS.Signals = 'SIGTERM'): void {
  if (!pid) return;
  killOnExit.set(pid, signal);
  if (registryFile) {
    commandLines.set(pid, commandLineSync(pid));
    writeRegistry();
  }
  if (exitHooked) return;
  exitHooked = true;
  process.on('exit', () => {
    for (const [childPid, childSignal] of killOnExit) {
      try {
        process.kill(childPid, childSignal);
      } catch {
        /* already gone */
      }
    }
  });
}

export function forgetChild(pid: number | undefined): void {
  if (!pid) return;
  killOnExit.delete(pid);
  commandLines.delete(pid);
  writeRegistry();
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A promise of the child's exit, created at spawn time so it never misses the event. */
export function exitOf(child: ChildProcess): Promise<ExitInfo> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolve({ code: child.exitCode, signal: child.signalCode as NodeJS.Signals | null });
      return;
    }
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', () => {
      // spawn failure (ENOENT, EACCES): no exit event follows
      if (child.pid === undefined) resolve({ code: null, signal: null });
    });
  });
}

/**
 * Sends each signal in turn, waiting `graceMs` after each for the child to exit; the last step
 * is SIGKILL. Resolves once the child has exited.
 */
export async function stopChild(
  child: ChildProcess,
  exited: Promise<unknown>,
  steps: Array<{ signal: NodeJS.Signals; graceMs: number }>,
  onEscalate?: (next: NodeJS.Signals, waitedMs: number) => void,
): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) {
    await exited;
    return;
  }
  const all = [...steps, { signal: 'SIGKILL' as NodeJS.Signals, graceMs: 5000 }];
  for (const [i, step] of all.entries()) {
    if (i > 0) onEscalate?.(step.signal, all[i - 1].graceMs);
    try {
      child.kill(step.signal);
    } catch {
      /* gone */
    }
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([exited.then(() => false), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), step.graceMs)))]);
    clearTimeout(timer);
    if (!timedOut) return;
  }
  await exited;
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The command line of a live process, where /proc exists ('' otherwise). */
export async function commandLineOf(pid: number): Promise<string> {
  try {
    return (await fs.readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').join(' ');
  } catch {
    return '';
  }
}

/** The last `lines` lines of a log file, for error messages. */
export async function tailOf(file: string, lines = 20): Promise<string> {
  try {
    const text = await fs.readFile(file, 'utf8');
    return text.trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}
