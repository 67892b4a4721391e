// Keeps webhook rules in step with the kinds that bindings name: one sync once the bindings are in
// memory, again whenever a kind comes or goes (a few changes gathered into one write), and every
// `resyncMs` to undo drift. A sync that fails, or that could not write everything (the configuration
// is not applied yet, a kind's lookup failed transiently and kept its last known rule), is retried
// with a 1 s → 30 s backoff rather than at the next resync. Used by the binding admission controller
// and by the ServiceBinding webhook configurations, which differ only in what a sync writes.

import { realClock, sleep } from '@bindery/kube';
import type { Logger } from 'pino';

export interface WebhookRulesReconcilerOptions {
  /** Resolves once the bindings are in memory: rules from a half-filled index would drop kinds still bound. */
  waitForSync(signal: AbortSignal): Promise<void>;
  /**
   * Writes the rules the bindings call for, once, when they differ. `retry`: not everything could
   * be written (a missing configuration, a kind kept as last known); try again soon. Throws on a
   * transient error: nothing that leaves a bound kind out is written, and it is retried.
   */
  sync(signal: AbortSignal): Promise<'synced' | 'retry'>;
  /** How often the rules are checked when no kind changed, to undo drift. Default 5 min. */
  resyncMs?: number;
  /** Gathers kind changes into one write. Default 100 ms. */
  debounceMs?: number;
  log: Logger;
}

const minBackoffMs = 1_000;
const maxBackoffMs = 30_000;

export class WebhookRulesReconciler {
  readonly #options: WebhookRulesReconcilerOptions;
  #wake: (() => void) | undefined;
  #dirty = true;

  constructor(options: WebhookRulesReconcilerOptions) {
    this.#options = options;
  }

  /** A kind came or went: sync again after the debounce. */
  kindsChanged(): void {
    this.#dirty = true;
    this.#wake?.();
  }

  /** Syncs until `signal` aborts; never throws. */
  async start(signal: AbortSignal): Promise<void> {
    const { log } = this.#options;
    try {
      await this.#options.waitForSync(signal);
    } catch {
      return;
    }
    let backoffMs = minBackoffMs;
    while (!signal.aborted) {
      this.#dirty = false;
      let waitMs = this.#options.resyncMs ?? 5 * 60_000;
      try {
        if ((await this.#options.sync(signal)) === 'retry') {
          waitMs = backoffMs;
          backoffMs = Math.min(backoffMs * 2, maxBackoffMs);
        } else {
          backoffMs = minBackoffMs;
        }
      } catch (err) {
        if (signal.aborted) return;
        log.warn({ err, retryInMs: backoffMs }, 'cannot set the webhook rules');
        waitMs = backoffMs;
        backoffMs = Math.min(backoffMs * 2, maxBackoffMs);
      }
      if (this.#dirty) waitMs = Math.min(waitMs, this.#options.debounceMs ?? 100);
      await this.#sleep(waitMs, signal);
    }
  }

  /** Waits `ms`, or less when a kind change wakes it. */
  async #sleep(ms: number, signal: AbortSignal): Promise<void> {
    const wake = new AbortController();
    this.#wake = () => wake.abort();
    await sleep(realClock, ms, AbortSignal.any([signal, wake.signal]));
    this.#wake = undefined;
  }
}
