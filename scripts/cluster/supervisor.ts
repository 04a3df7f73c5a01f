// Keeps a set of processes running: one that exits without being asked is started again after a
// backoff (1 s doubling to 30 s, back to 1 s once it has run a minute), while the others go on
// serving. Unlike `npm start`, where one exit stops the whole development stack.
import { type ManagedProcess, spawnManaged } from '@cpg/devkit/services';

export interface SupervisedSpec {
  /** Unique per instance, e.g. `payment-2`. */
  name: string;
  command: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Health URL (200 = up), used by waitHealthy(). */
  healthUrl?: string;
}

interface Instance {
  spec: SupervisedSpec;
  proc?: ManagedProcess;
  startedAt: number;
  backoffMs: number;
  restarts: number;
  timer?: NodeJS.Timeout;
}

export interface SupervisorOptions {
  log: (line: string) => void;
  /** Hide the children's output (tests); their lines still reach `onLine`. */
  silent?: boolean;
  onLine?: (name: string, line: string) => void;
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

export class Supervisor {
  private readonly instances = new Map<string, Instance>();
  private stopping = false;

  constructor(private readonly opts: SupervisorOptions) {}

  /** Starts `spec` and keeps it running until stopAll(). Called once per instance. */
  add(spec: SupervisedSpec): void {
    if (this.instances.has(spec.name)) throw new Error(`supervisor: ${spec.name} is already supervised`);
    const instance: Instance = { spec, startedAt: 0, backoffMs: this.opts.minBackoffMs ?? 1000, restarts: 0 };
    this.instances.set(spec.name, instance);
    this.launch(instance);
  }

  names(): string[] {
    return [...this.instances.keys()];
  }

  pid(name: string): number | undefined {
    return this.instances.get(name)?.proc?.pid;
  }

  restarts(name: string): number {
    return this.instances.get(name)?.restarts ?? 0;
  }

  /** Sends `signal` to one instance as a crash would (SIGKILL by default); the supervisor restarts it. */
  kill(name: string, signal: NodeJS.Signals = 'SIGKILL'): number {
    const instance = this.instances.get(name);
    const pid = instance?.proc?.pid;
    if (!instance || !pid || pid < 0) throw new Error(`supervisor: ${name} is not running`);
    process.kill(pid, signal);
    return pid;
  }

  /** Stops every instance (SIGTERM, SIGKILL after `graceMs`); none is restarted after this. */
  async stopAll(graceMs = 10_000, order: (names: string[]) => string[][] = (n) => [n]): Promise<void> {
    this.stopping = true;
    for (const instance of this.instances.values()) clearTimeout(instance.timer);
    for (const group of order(this.names())) {
      await Promise.all(
        group.map((name) =>
          this.instances
            .get(name)
            ?.proc?.stop('SIGTERM', graceMs)
            .catch(() => undefined),
        ),
      );
    }
  }

  private launch(instance: Instance): void {
    if (this.stopping) return;
    const { spec } = instance;
    instance.startedAt = Date.now();
    const proc = spawnManaged(spec.name, spec.command, spec.args, {
      cwd: spec.cwd,
      env: spec.env,
      detached: true,
      silent: this.opts.silent,
      onLine: this.opts.onLine ? (line) => this.opts.onLine!(spec.name, line) : undefined,
    });
    instance.proc = proc;
    void proc.exited.then((code) => {
      if (this.stopping || instance.proc !== proc) return;
      const ranMs = Date.now() - instance.startedAt;
      if (ranMs > 60_000) instance.backoffMs = this.opts.minBackoffMs ?? 1000;
      const wait = instance.backoffMs;
      instance.backoffMs = Math.min(instance.backoffMs * 2, this.opts.maxBackoffMs ?? 30_000);
      instance.restarts++;
      this.opts.log(`supervisor: ${spec.name} exited (code ${code}) after ${Math.round(ranMs / 1000)} s; restarting in ${wait / 1000} s`);
      instance.timer = setTimeout(() => this.launch(instance), wait);
    });
  }
}
