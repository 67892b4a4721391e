// The admission bench's side of its webhook process (admission-webhooks-child.ts): starts it and
// asks it, over IPC, to reset and to report what it measured.
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import type { FromChild, ToChild } from './admission-webhooks-child.ts';

export type { ChildReport } from './admission-webhooks-child.ts';

const childScript = new URL('./admission-webhooks-child.ts', import.meta.url);

/** A fresh webhook process for `kubeconfig` (BENCH_CPU_PROF=<dir>: with a CPU profile). */
export class WebhookProcess {
  readonly #child: ChildProcess;
  readonly #inbox: Array<(msg: FromChild) => void> = [];

  constructor(kubeconfig: string) {
    const profile = process.env['BENCH_CPU_PROF'];
    this.#child = fork(childScript, [kubeconfig], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      execArgv: profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}`] : [],
    });
    this.#child.on('message', (msg: FromChild) => this.#inbox.shift()?.(msg));
  }

  receive<K extends FromChild['type']>(type: K): Promise<Extract<FromChild, { type: K }>> {
    return new Promise((resolve, reject) => {
      this.#inbox.push((msg) =>
        msg.type === type ? resolve(msg as Extract<FromChild, { type: K }>) : reject(new Error(msg.type)),
      );
    });
  }

  async ask<K extends FromChild['type']>(msg: ToChild, answer: K): Promise<Extract<FromChild, { type: K }>> {
    const received = this.receive(answer);
    this.#child.send(msg);
    return received;
  }

  async stop(): Promise<void> {
    const exited = new Promise((resolve) => this.#child.once('exit', resolve));
    this.#child.send({ type: 'stop' } satisfies ToChild);
    await exited;
  }

  kill(): void {
    this.#child.kill();
  }
}
