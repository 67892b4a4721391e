// How a trigger reaches the leader's work queue from any replica. The leader enqueues itself,
// after the debounce (the write a trigger announces is stored only after the webhook answers).
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
//
// The webhook path is reachable by anything that can reach the pod, so a forged review must not
// turn into unbounded writes: only bindings in this replica's cache are patched, and patches are
// rate-limited by a token bucket (a binding left waiting stays pending, coalesced, and goes next).

import { TokenBucket, isNotFound } from '@bindery/kube';
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
  /** Whether the binding is in the cache (`ServiceBindingIndex.has`); others are never patched. Default: all. */
  exists?: (binding: BindingKey) => boolean;
  /** Patches per second to the API server, across all bindings. Default 10. */
  maxPatchesPerSecond?: number;
  /** Patches that may go at once after a quiet period. Default 20. */
  patchBurst?: number;
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
  readonly #bucket: TokenBucket;

  constructor(options: TriggerForwarderOptions) {
    this.#options = options;
    this.#log = (options.log ?? pino({ name: 'servicebinding' })).child({ component: this.name });
    this.#bucket = new TokenBucket(
      options.patchBurst ?? 20,
      1000 / (options.maxPatchesPerSecond ?? 10),
      performance.now(),
    );
  }

  /**
   * Sends `bindings` to the leader's queue after the debounce, on the leader too: the trigger is a
   * validating webhook, called before the write it announces is stored, so a reconcile started at
   * once could read the object as it was, and nothing would announce the change again.
   */
  forward(bindings: BindingKey[]): void {
    if (this.#stopped) return;
    for (const b of bindings) {
      const key = `${b.namespace}/${b.name}`;
      // Only bindings in the cache: the pending set is as bounded as the bindings are.
      if (this.#options.exists && !this.#options.exists(b)) continue;
      if (!this.#pending.has(key)) this.#pending.set(key, { binding: b, attempt: 0 });
    }
    if (this.#pending.size === 0) return;
    this.#schedule(this.#options.debounceMs ?? 200);
  }

  /** Waits for patches in flight, at most `timeoutMs` (then throws); for tests. */
  async idle(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.#timer !== undefined || this.#pending.size > 0) {
      if (Date.now() > deadline) throw new Error(`trigger forwarder not idle after ${timeoutMs} ms`);
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
    const at = (this.#options.now?.() ?? new Date()).toISOString();
    const retries: Array<[string, { binding: BindingKey; attempt: number }]> = [];
    for (const [key, item] of this.#pending) {
      if (this.#stopped) return;
      this.#pending.delete(key);
      // Leadership may have come here while waiting.
      if (this.#options.isLeader()) {
        this.#options.enqueue(item.binding);
        continue;
      }
      // Deleted since it was triggered, or never there.
      if (this.#options.exists && !this.#options.exists(item.binding)) continue;
      const waitMs = this.#take();
      if (waitMs > 0) {
        // Out of tokens: this one waits with the rest for the next ones.
        this.#pending.set(key, item);
        for (const [k, i] of retries) if (!this.#pending.has(k)) this.#pending.set(k, i);
        this.#schedule(waitMs);
        return;
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
        retries.push([key, { binding: item.binding, attempt }]);
      }
    }
    // After the loop: a key set again while iterating would be visited again.
    for (const [key, item] of retries) if (!this.#pending.has(key)) this.#pending.set(key, item);
    if (this.#pending.size > 0) this.#schedule(retries.length > 0 ? 1_000 : 0);
  }

  /** Takes a token: 0, or how long until one is there (nothing taken then). */
  #take(): number {
    const now = performance.now();
    if (this.#bucket.take(now)) return 0;
    return Math.ceil((1 - this.#bucket.tokens(now)) * this.#bucket.refillEveryMs);
  }
}
