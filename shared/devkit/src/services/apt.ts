import { spawn } from 'node:child_process';
import { accessSync, constants as fsConstants } from 'node:fs';
import path from 'node:path';

const SEARCH_DIRS = ['/usr/sbin', '/usr/local/sbin', '/usr/local/bin', '/usr/bin', '/sbin', '/bin', '/opt/homebrew/bin'];

function executable(file: string): boolean {
  try {
    accessSync(file, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Absolute path of an executable: `override` (an env value), then PATH, then the usual bin dirs. */
export function findBinary(name: string, override?: string): string | undefined {
  const candidates = [
    ...(override ? [override] : []),
    ...(process.env.PATH ?? '')
      .split(path.delimiter)
      .filter(Boolean)
      .map((dir) => path.join(dir, name)),
    ...SEARCH_DIRS.map((dir) => path.join(dir, name)),
  ];
  return candidates.find(executable);
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<number | null> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: 'inherit', env });
    child.once('error', () => resolve(null));
    child.once('exit', (code) => resolve(code));
  });
}

let updated = false;

/**
 * Installs a Debian package when we are root and apt-get exists (a fresh Debian machine, CI).
 * Returns false when that is not possible or the install failed, so the caller can say how to
 * install it by hand. `apt-get update` runs once per process.
 */
export async function aptInstall(pkg: string, log: (line: string) => void): Promise<boolean> {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const aptGet = ['/usr/bin/apt-get', '/bin/apt-get'].find(executable);
  if (!isRoot || !aptGet) return false;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  log(`${pkg}: not installed; installing the Debian package (one to two minutes)...`);
  if (!updated) {
    if ((await run(aptGet, ['update', '-qq'], env)) !== 0) log('apt-get update failed; trying the install anyway');
    updated = true;
  }
  return (await run(aptGet, ['install', '-y', '-qq', pkg], env)) === 0;
}
