// How a trigger reaches the leader's work queue from any replica. The leader enqueues directly.
// Any other replica — the RI drops these, since only the leader drains its queue — writes the
// trigger time into an annotation of each affected ServiceBinding with a metadata-only JSON merge
// patch; the leader's ServiceBinding informer sees the update and its controller reconciles.
//
// Why an annotation rather than, say, calling the leader: the Lease names the leader but not an
// address; the API server is already the one channel every replica shares, it survives a leader
// change (the new leader lists the bindings anyway), and it needs only `patch` on servicebindings,
// which the controller has. Patches are debounced per binding (a burst of workload updates costs
// one write) and carry no resourceVersion: only the annotation is touched, so there is nothing to
// conflict with. A binding that is gone is skipped.

import { isNotFound } from '@bindery/kube';
import type { Runnable } from '@bindery/runtime';
import type { Client } from '@bindery/runtime';
import { pino } from 'pino';
import type { Logger } from 'pino';
import { serviceBindingType } from '../controllers/servicebinding.ts';
import { triggerAnnotation } from './constants.ts';
import type { BindingKey } from './trigger.ts';

export interface TriggerForwarderOptions {
  /** True on the replica that runs the controller (`manager.leading`). */
  isLeader: () => boolean;
  /** The controller's queue (`controller.enqueue`), used on the leader. */
  enqueue: (binding: BindingKey) => void;
  /** Patches bindings from the other replicas: a client that writes to the API server. */
  client: Pick<Client, 'patch'>;
  /** How long triggers for one binding are gathered into one patch. Default 200 ms. */
  debounceMs?: number;
  /** Attempts per patch before giving up (the controller's periodic resync remains). Default 3. */
  attempts?: number;
  log?: Logger;
  /** The time written into the annotation. */
  now?: () => Date;
}

export class TriggerForwarder implements Runnable {
  readonly name = 'servicebinding-trigger-forwarder';
  readonly #options: TriggerForwarderOptions;
  readonly #log: Logger;
  /** Binding keys waiting for the next flush, with the attempts made. */
  readonly #pending = new Map<string, { binding: BindingKey; attempt: number }>();
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  #flushing: Promise<void> = Promise.resolve();

  constructor(options: TriggerForwarderOptions) {
    this.#options = options;
    this.#log = (options.log ?? pino({ name: 'servicebinding' })).child({ component: this.name });
  }

  /** Sends `bindings` to the leader's queue: now on the leader, after the debounce elsewhere. */
  forward(bindings: BindingKey[]): void {
    if (this.#stopped) return;
    if (this.#options.isLeader()) {
      for (const b of bindings) this.#options.enqueue(b);
      return;
    }
    for (const b of bindings) {
      const key = `${b.namespace}/${b.name}`;
      if (!this.#pending.has(key)) this.#pending.set(key, { binding: b, attempt: 0 });
    }
    this.#schedule(this.#options.debounceMs ?? 200);
  }

  /** Waits for patches in flight; for tests. */
  async idle(): Promise<void> {
    while (this.#timer !== undefined || this.#pending.size > 0) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      await this.#flushing;
    }
    await this.#flushing;
  }

  /** Runs until `signal` aborts; what is pending then is dropped (the next leader relists). */
  async start(signal: AbortSignal): Promise<void> {
    if (!signal.aborted) {
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    }
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#pending.clear();
    await this.#flushing;
  }

  #schedule(ms: number): void {
    if (this.#timer !== undefined || this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#flushing = this.#flush();
    }, ms);
    this.#timer.unref();
  }

  async #flush(): Promise<void> {
    const batch = [...this.#pending.values()];
    this.#pending.clear();
    const at = (this.#options.now?.() ?? new Date()).toISOString();
    let retry = false;
    for (const item of batch) {
      if (this.#stopped) return;
      // Leadership may have come here while waiting.
      if (this.#options.isLeader()) {
        this.#options.enqueue(item.binding);
        continue;
      }
      try {
        await this.#options.client.patch(
          { ...serviceBindingType, ...item.binding },
          { metadata: { annotations: { [triggerAnnotation]: at } } },
          { type: 'merge' },
        );
      } catch (err) {
        if (isNotFound(err)) continue;
        const attempt = item.attempt + 1;
        if (attempt >= (this.#options.attempts ?? 3)) {
          this.#log.warn({ err, binding: item.binding }, 'trigger not forwarded to the leader');
          continue;
        }
        const key = `${item.binding.namespace}/${item.binding.name}`;
        if (!this.#pending.has(key)) this.#pending.set(key, { binding: item.binding, attempt });
        retry = true;
      }
    }
    if (retry) this.#schedule(1_000);
  }
}
