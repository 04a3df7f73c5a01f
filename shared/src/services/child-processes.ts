import type { ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';

/**
 * Children we started are stopped by their PID when this process exits without stopping them
 * (an uncaught error, process.exit): the `exit` event can only signal synchronously, so this is
 * a best-effort last word; a normal shutdown stops each child itself and waits for it.
 */
const killOnExit = new Map<number, NodeJS.Signals>();
let exitHooked = false;

export function rememberChild(pid: number | undefined, signal: NodeJS.Signals = 'SIGTERM'): void {
  if (!pid) return;
  killOnExit.set(pid, signal);
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
  if (pid) killOnExit.delete(pid);
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
