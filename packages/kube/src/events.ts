// Events (events.k8s.io/v1), recorded the way client-go's tools/events does it:
// asynchronously, aggregated into series, and rate limited, so that a controller
// that loops can never flood the API server or block on it.
//
// NEVER put a secret in an event. The recorder cannot tell what a note contains;
// events are readable by anyone who may `kubectl describe` the object (and are
// often shipped to log stores). Name a Secret, never quote its data; do not paste
// request bodies, tokens, or connection strings into `note`.

import type { KubeClient } from './client.ts';
import { realClock, sleep } from './clock.ts';
import type { Clock } from './clock.ts';
import { isAlreadyExists, isConflict, isNotFound, isRetryable } from './errors.ts';
import { buildEvent, validateEventSource } from './event-builder.ts';
import type { Event, EventOptions, EventSource } from './event-builder.ts';
import { EventCorrelator, seriesOf } from './event-correlator.ts';
import type { CorrelatorOptions, SeriesEntry } from './event-correlator.ts';
import type { KubeObject, ObjectRef } from './object.ts';

/** The process clock, with timers that never keep the process alive by themselves. */
const unrefClock: Clock = {
  now: () => realClock.now(),
  setTimeout: (fn, ms) => {
    const handle = realClock.setTimeout(fn, ms);
    (handle as { unref?: () => void }).unref?.();
    return handle;
  },
  clearTimeout: (handle) => realClock.clearTimeout(handle),
};

export type EventClient = Pick<KubeClient, 'create' | 'patch'>;

export interface EventBroadcasterOptions extends CorrelatorOptions {
  client: EventClient;
  /** Stamps events and times series patches. Default: the process clock. */
  clock?: Clock;
  /** A write that failed for good, or an event that could not be built. For logging. */
  onError?: (err: unknown, event?: Event) => void;
  /** Writes waiting at most; more are dropped. Default 1000 (client-go's maxQueuedEvents). */
  maxQueued?: number;
  /** Attempts per write for retryable errors (429, 5xx, connection), on top of the client's own retries. Default 3. */
  maxAttempts?: number;
  /** First delay between attempts, doubled each time. Default 1 s. */
  retryDelayMs?: number;
}

export interface EventStats {
  /** Calls of `event()` accepted: each is a new Event or a repeat in a series. */
  recorded: number;
  /** Events created on the server. */
  created: number;
  /** Series patches written. */
  patched: number;
  /** Calls of `event()` not recorded, by reason. */
  dropped: number;
  droppedByReason: Record<DropReason, number>;
  /** Writes that failed for good (the error went to `onError`). */
  failed: number;
}

export type DropReason =
  'invalid' | 'object-rate-limited' | 'global-rate-limited' | 'queue-full' | 'shutdown' | 'write-failed';

interface Task {
  op: 'create' | 'patch';
  entry: SeriesEntry;
}

/**
 * The machinery behind recorders: aggregation, rate limits, and one queue drained
 * by one async loop, so `event()` never waits and writes never pile up. Several
 * recorders (one per controller) may share a broadcaster.
 */
export class EventBroadcaster {
  readonly correlator: EventCorrelator;
  readonly #client: EventClient;
  readonly #clock: Clock;
  readonly #onError: ((err: unknown, event?: Event) => void) | undefined;
  readonly #maxQueued: number;
  readonly #maxAttempts: number;
  readonly #retryDelayMs: number;
  readonly #queue: Task[] = [];
  readonly #queued = new Set<SeriesEntry>();
  readonly #timers = new Map<SeriesEntry, unknown>();
  /** Aborts writes in flight and retry waits when a shutdown gives up. */
  readonly #abort = new AbortController();
  #draining: Promise<void> | undefined;
  #flushing = 0;
  #closed = false;
  readonly #stats: EventStats = {
    recorded: 0,
    created: 0,
    patched: 0,
    dropped: 0,
    droppedByReason: {
      invalid: 0,
      'object-rate-limited': 0,
      'global-rate-limited': 0,
      'queue-full': 0,
      shutdown: 0,
      'write-failed': 0,
    },
    failed: 0,
  };

  constructor(options: EventBroadcasterOptions) {
    this.#client = options.client;
    this.#clock = options.clock ?? unrefClock;
    this.#onError = options.onError;
    this.#maxQueued = options.maxQueued ?? 1000;
    this.#maxAttempts = options.maxAttempts ?? 3;
    this.#retryDelayMs = options.retryDelayMs ?? 1000;
    this.correlator = new EventCorrelator(options, this.#clock.now());
  }

  /** A recorder for one controller, sharing this broadcaster's queue and limits. */
  newRecorder(source: EventSource): EventRecorder {
    return new EventRecorder({ ...source, broadcaster: this });
  }

  /** A snapshot of the counters. */
  get stats(): EventStats {
    return { ...this.#stats, droppedByReason: { ...this.#stats.droppedByReason } };
  }

  /** Records an Event built by a recorder. Never throws, never waits. */
  record(event: Event): void {
    if (this.#closed) return this.#drop('shutdown');
    const decision = this.correlator.observe(event, this.#clock.now());
    switch (decision.action) {
      case 'drop':
        return this.#drop(decision.reason);
      case 'series':
        this.#stats.recorded++;
        return this.#schedulePatch(decision.entry);
      case 'create':
        if (this.#queue.length >= this.#maxQueued) {
          this.correlator.forget(decision.entry);
          return this.#drop('queue-full');
        }
        this.#stats.recorded++;
        this.#enqueue({ op: 'create', entry: decision.entry });
    }
  }

  /** Reports an event that could not be built (invalid input): counted as dropped. */
  reject(err: Error): void {
    this.#drop('invalid');
    this.#report(err);
  }

  /**
   * Writes everything pending now, series patches included (ignoring the patch
   * interval). Resolves when the queue is empty or `signal` aborts.
   */
  async flush(signal?: AbortSignal): Promise<void> {
    this.#flushing++;
    try {
      for (const [entry, handle] of this.#timers) {
        this.#clock.clearTimeout(handle);
        this.#timers.delete(entry);
        this.#enqueue({ op: 'patch', entry });
      }
      while ((this.#draining || this.#queue.length > 0) && !signal?.aborted) {
        this.#kick();
        await Promise.race([this.#draining, aborted(signal)]);
      }
    } finally {
      this.#flushing--;
    }
  }

  /**
   * Stops taking events and flushes. If `signal` aborts first, writes in flight
   * are abandoned and what is still queued is counted as dropped.
   */
  async shutdown(signal?: AbortSignal): Promise<void> {
    this.#closed = true;
    await this.flush(signal);
    if (signal?.aborted) {
      this.#abort.abort(signal.reason);
      for (const [entry, handle] of this.#timers) {
        this.#clock.clearTimeout(handle);
        this.#timers.delete(entry);
      }
      const left = this.#queue.splice(0);
      this.#queued.clear();
      for (let i = 0; i < left.length; i++) this.#drop('shutdown');
      await this.#draining;
    }
  }

  #drop(reason: DropReason): void {
    this.#stats.dropped++;
    this.#stats.droppedByReason[reason]++;
  }

  #schedulePatch(entry: SeriesEntry): void {
    // Before the create is done there is nothing to patch: the create sends the count it has.
    if (entry.writtenCount === 0 || this.#queued.has(entry) || this.#timers.has(entry)) return;
    if (!this.correlator.needsPatch(entry)) return;
    const delay = this.correlator.nextPatchTime(entry) - this.#clock.now();
    if (delay <= 0 || this.#flushing > 0) {
      this.#enqueue({ op: 'patch', entry });
      return;
    }
    const handle = this.#clock.setTimeout(() => {
      this.#timers.delete(entry);
      this.#enqueue({ op: 'patch', entry });
    }, delay);
    this.#timers.set(entry, handle);
  }

  #enqueue(task: Task): void {
    if (this.#queued.has(task.entry)) return;
    this.#queued.add(task.entry);
    this.#queue.push(task);
    this.#kick();
  }

  #kick(): void {
    if (this.#draining) return;
    const draining = this.#drain().finally(() => {
      if (this.#draining === draining) this.#draining = undefined;
      if (this.#queue.length > 0 && !this.#abort.signal.aborted) this.#kick();
    });
    this.#draining = draining;
  }

  async #drain(): Promise<void> {
    // Start after the caller's synchronous burst: repeats recorded in the same tick
    // go out with the create as its series, in one write.
    await Promise.resolve();
    for (let task = this.#queue.shift(); task; task = this.#queue.shift()) {
      this.#queued.delete(task.entry);
      try {
        await this.#process(task);
      } catch (err) {
        this.#report(err, task.entry.event);
      }
    }
  }

  async #process(task: Task): Promise<void> {
    const { entry } = task;
    if (task.op === 'patch' && !this.correlator.needsPatch(entry)) return;
    const count = entry.count;
    const sentAt = this.#clock.now();
    const result = task.op === 'create' ? await this.#create(entry) : await this.#patch(entry);
    if (result === 'failed') {
      // The Event is not on the server: the next identical event starts a new one.
      this.correlator.forget(entry);
      if (task.op === 'create') this.#drop('write-failed');
      this.#stats.failed++;
      return;
    }
    // 'skipped' (a conflicting patch) counts as written: those repeats are given up, not retried.
    entry.writtenCount = Math.max(entry.writtenCount, count);
    entry.lastWriteTime = sentAt;
    // Repeats that came in while writing wait for the next patch slot.
    this.#schedulePatch(entry);
  }

  async #create(entry: SeriesEntry): Promise<'written' | 'failed'> {
    const body: Event = { ...entry.event };
    if (entry.count >= 2) body.series = seriesOf(entry);
    try {
      await this.#withRetries(() => this.#client.create(body, { signal: this.#abort.signal }));
    } catch (err) {
      // The same name again: a retry of a create that did reach the server.
      if (!isAlreadyExists(err)) {
        this.#report(err, body);
        return 'failed';
      }
    }
    this.#stats.created++;
    return 'written';
  }

  async #patch(entry: SeriesEntry): Promise<'written' | 'skipped' | 'failed'> {
    const ref: ObjectRef = {
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      namespace: entry.event.metadata.namespace ?? 'default',
      name: entry.event.metadata.name ?? '',
    };
    try {
      await this.#withRetries(() =>
        this.#client.patch(ref, { series: seriesOf(entry) }, { type: 'merge', signal: this.#abort.signal }),
      );
      this.#stats.patched++;
      return 'written';
    } catch (err) {
      // Deleted (events expire after an hour by default): write it again, with its series.
      if (isNotFound(err)) return this.#create(entry);
      if (isConflict(err) || isAlreadyExists(err)) return 'skipped';
      this.#report(err, entry.event);
      return 'failed';
    }
  }

  async #withRetries<T>(write: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await write();
      } catch (err) {
        if (attempt >= this.#maxAttempts || !isRetryable(err) || this.#abort.signal.aborted) throw err;
        await sleep(this.#clock, this.#retryDelayMs * 2 ** (attempt - 1), this.#abort.signal);
        if (this.#abort.signal.aborted) throw err;
      }
    }
  }

  #report(err: unknown, event?: Event): void {
    try {
      this.#onError?.(err, event);
    } catch {
      // A failing logger must not stop the queue.
    }
  }

  /** Stamps events with the broadcaster's clock. */
  now(): number {
    return this.#clock.now();
  }
}

function aborted(signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return new Promise(() => undefined);
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

export type EventRecorderOptions =
  (EventSource & EventBroadcasterOptions) | (EventSource & { broadcaster: EventBroadcaster });

/**
 * Records events about objects: `recorder.event(obj, { type, reason, note })`.
 * Returns at once and never throws; the write happens in the background.
 *
 * Never put a secret's value in an event: see the top of this file.
 */
export class EventRecorder {
  readonly broadcaster: EventBroadcaster;
  readonly source: EventSource;
  readonly #owned: boolean;

  /** Throws if the reporting controller or instance would be rejected by the API server. */
  constructor(options: EventRecorderOptions) {
    this.source = {
      reportingController: options.reportingController,
      reportingInstance: options.reportingInstance,
    };
    const invalid = validateEventSource(this.source);
    if (invalid) throw new Error(`event recorder: ${invalid}`);
    if ('broadcaster' in options) {
      this.broadcaster = options.broadcaster;
      this.#owned = false;
    } else {
      this.broadcaster = new EventBroadcaster(options);
      this.#owned = true;
    }
  }

  event(regarding: KubeObject, options: EventOptions): void {
    try {
      const event = buildEvent(regarding, options, this.source, this.broadcaster.now());
      if (event instanceof Error) this.broadcaster.reject(event);
      else this.broadcaster.record(event);
    } catch (err) {
      this.broadcaster.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  get stats(): EventStats {
    return this.broadcaster.stats;
  }

  flush(signal?: AbortSignal): Promise<void> {
    return this.broadcaster.flush(signal);
  }

  /** Flushes; also shuts the broadcaster down if this recorder made it. */
  shutdown(signal?: AbortSignal): Promise<void> {
    return this.#owned ? this.broadcaster.shutdown(signal) : this.broadcaster.flush(signal);
  }
}
