import { spawn, type ChildProcess } from 'node:child_process';
import { basename } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Runs the binary under a small shell that (1) forwards SIGTERM to it and waits, so the shell's exit
 * means the binary's exit, and (2) kills it when this Node process disappears — even by SIGKILL, where no
 * exit handler of ours runs. `$1` is our pid; the rest is the command line. Every sleep is a waited-for
 * background job, so a signal interrupts it and each process reaps its own children: nothing is left for
 * init to reap, which in some containers takes a second.
 */
const WATCHDOG = `
parent=$1; shift
"$@" &
child=$!
(
  trap 'kill "$napping" 2>/dev/null; wait "$napping"; exit 0' TERM
  nap() { sleep "$1" & napping=$!; wait "$napping"; }
  while kill -0 "$parent" 2>/dev/null; do nap 1; done
  kill -TERM "$child" 2>/dev/null; nap 5; kill -KILL "$child" 2>/dev/null
) &
watchdog=$!
trap 'kill -TERM "$child" 2>/dev/null' TERM INT
status=0
while kill -0 "$child" 2>/dev/null; do wait "$child"; status=$?; done
kill "$watchdog" 2>/dev/null; wait "$watchdog"
exit "$status"
`;

/** Every live process group we started, killed synchronously if Node exits without stopping them. */
const liveGroups = new Set<number>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const pgid of liveGroups) killGroup(pgid, 'SIGKILL');
  });
}

export interface ManagedProcessOptions {
  path: string;
  args: string[];
  /** Also echo output lines here (for example to stderr when debugging). */
  onLine?: (line: string) => void;
  /** Lines of output kept for error messages. */
  keepLines?: number;
}

/** A binary in its own process group, with the tail of its output kept for error messages. */
export class ManagedProcess {
  readonly name: string;
  readonly #child: ChildProcess;
  readonly #pgid: number;
  readonly #lines: string[] = [];
  readonly #keep: number;
  readonly #exited: Promise<void>;
  #exitCode: number | null | undefined;

  constructor(options: ManagedProcessOptions) {
    installExitHook();
    this.name = basename(options.path);
    this.#keep = options.keepLines ?? 200;
    this.#child = spawn(
      '/bin/sh',
      ['-c', WATCHDOG, 'bindery-watchdog', String(process.pid), options.path, ...options.args],
      {
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    if (this.#child.pid === undefined) throw new Error(`could not spawn ${options.path}`);
    this.#pgid = this.#child.pid;
    liveGroups.add(this.#pgid);
    // The children must not keep the event loop (and so a test run) alive on their own.
    this.#child.unref();
    for (const stream of [this.#child.stdout, this.#child.stderr]) {
      if (stream === null) continue;
      let partial = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        const lines = (partial + chunk).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) this.#record(line, options.onLine);
      });
      (stream as unknown as { unref?: () => void }).unref?.();
    }
    this.#exited = new Promise((resolve) => {
      this.#child.once('exit', (code) => {
        this.#exitCode = code;
        // Sweep the group (after a SIGKILL escalation the shell's children are orphans), and resolve only
        // once it is empty, so "exited" means no process of ours remains.
        killGroup(this.#pgid, 'SIGKILL');
        void groupGone(this.#pgid).then(() => {
          liveGroups.delete(this.#pgid);
          resolve();
        });
      });
    });
  }

  /** The shell's pid, which is also the process group id. */
  get pid(): number {
    return this.#pgid;
  }

  get running(): boolean {
    return this.#exitCode === undefined;
  }

  /** Resolves when the process has exited, however that happened. */
  get exited(): Promise<void> {
    return this.#exited;
  }

  /** The last lines of output, for error messages. */
  tail(lines = 40): string {
    return this.#lines.slice(-lines).join('\n');
  }

  /** SIGTERM, then SIGKILL to the whole group if it has not exited after `graceMs`. */
  async stop(graceMs = 5000): Promise<void> {
    if (!this.running) return;
    try {
      process.kill(this.#pgid, 'SIGTERM');
    } catch {
      // already gone
    }
    const timeout = new AbortController();
    const killed = sleep(graceMs, undefined, { signal: timeout.signal }).then(
      () => killGroup(this.#pgid, 'SIGKILL'),
      () => undefined,
    );
    await this.#exited;
    timeout.abort();
    await killed;
  }

  #record(line: string, onLine?: (line: string) => void): void {
    this.#lines.push(line);
    if (this.#lines.length > this.#keep) this.#lines.shift();
    onLine?.(line);
  }
}

/** Polls until no process (zombies included) is left in the group; gives up after `ms`. */
async function groupGone(pgid: number, ms = 2000): Promise<void> {
  for (const deadline = Date.now() + ms; Date.now() < deadline; await sleep(10)) {
    try {
      process.kill(-pgid, 0);
    } catch {
      return;
    }
  }
}

function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // the group is already empty
  }
}

/** Whether a process exists (EPERM: it does, owned by someone else). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
