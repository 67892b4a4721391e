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
import { formatMicroTime } from './leader-election.ts';
import type { KubeObject, ObjectRef } from './object.ts';

export type EventType = 'Normal' | 'Warning';

/** A core/v1 ObjectReference: what an event is about. */
export interface ObjectReference {
  apiVersion?: string;
  kind?: string;
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  fieldPath?: string;
}

/** What a caller says about an object. */
export interface EventOptions {
  type: EventType;
  /** Why: UpperCamelCase, machine-readable, at most 128 characters (`ProjectionFailed`). */
  reason: string;
  /** What was done or failed, at most 128 characters (`Binding`). Default: the reason. */
  action?: string;
  /** For humans; cut to 1 KiB. Never a secret's value (see the top of this file). */
  note: string;
  /** A second object the event is about (the Secret a binding projects, say). */
  related?: KubeObject | ObjectReference;
}

export interface EventSeries {
  count: number;
  lastObservedTime: string;
}

/** An events.k8s.io/v1 Event. */
export interface Event extends KubeObject {
  eventTime: string;
  reportingController: string;
  reportingInstance: string;
  action: string;
  reason: string;
  type: EventType;
  note: string;
  regarding: ObjectReference;
  related?: ObjectReference;
  series?: EventSeries;
}

/** Who records: `reportingController` names the controller (`bindery.dev/servicebinding`), `reportingInstance` the replica. */
export interface EventSource {
  reportingController: string;
  reportingInstance: string;
}

/** Bytes; the API server rejects longer notes. */
export const maxNoteBytes = 1024;
const maxReasonLength = 128;
const maxActionLength = 128;
const maxReportingInstanceLength = 128;

/** Cuts `note` to at most `maxBytes` bytes of UTF-8, never inside a character. */
export function truncateNote(note: string, maxBytes = maxNoteBytes): string {
  const bytes = Buffer.from(note, 'utf8');
  if (bytes.length <= maxBytes) return note;
  let end = maxBytes;
  // Back up over continuation bytes (10xxxxxx) to the start of the character cut in two.
  while (end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString('utf8');
}

/** The ObjectReference of an object, as client-go's `reference.GetReference` makes it. */
export function referenceTo(obj: KubeObject): ObjectReference {
  const ref: ObjectReference = {};
  if (obj.apiVersion) ref.apiVersion = obj.apiVersion;
  if (obj.kind) ref.kind = obj.kind;
  if (obj.metadata.name) ref.name = obj.metadata.name;
  if (obj.metadata.namespace) ref.namespace = obj.metadata.namespace;
  if (obj.metadata.uid) ref.uid = obj.metadata.uid;
  if (obj.metadata.resourceVersion) ref.resourceVersion = obj.metadata.resourceVersion;
  return ref;
}

const qualifiedNamePart = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const dnsSubdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Why the API server would reject a reporting controller or instance, or undefined if it would not. */
export function validateEventSource(source: EventSource): string | undefined {
  const controller = source.reportingController;
  const slash = controller.lastIndexOf('/');
  const prefix = slash < 0 ? undefined : controller.slice(0, slash);
  const name = slash < 0 ? controller : controller.slice(slash + 1);
  if (
    !qualifiedNamePart.test(name) ||
    (prefix !== undefined && (prefix.length > 253 || !dnsSubdomain.test(prefix)))
  ) {
    return `reportingController ${JSON.stringify(controller)} must be a qualified name such as "example.com/my-controller"`;
  }
  if (source.reportingInstance === '' || source.reportingInstance.length > maxReportingInstanceLength) {
    return `reportingInstance must be 1 to ${maxReportingInstanceLength} characters, got ${source.reportingInstance.length}`;
  }
  return undefined;
}

/**
 * The Event's name: the regarding object's name made a valid DNS subdomain, a dot,
 * and a hex timestamp in nanoseconds (client-go's `<name>.<hex UnixNano>`), whose
 * last digits are random so two events in one millisecond do not collide.
 */
export function eventName(regardingName: string, nowMs: number, random: () => number = Math.random): string {
  const nanos = BigInt(Math.floor(nowMs)) * 1_000_000n + BigInt(Math.floor(random() * 1_000_000));
  const suffix = nanos.toString(16);
  let base = regardingName
    .toLowerCase()
    .split('.')
    .map((segment) => segment.replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, ''))
    .filter((segment) => segment !== '')
    .join('.');
  base = base.slice(0, 253 - 1 - suffix.length).replace(/[-.]+$/, '');
  return `${base === '' ? 'event' : base}.${suffix}`;
}

/**
 * The Event for one call of `recorder.event()`, or why it cannot be written. It is
 * written to the regarding object's namespace; for cluster-scoped objects to
 * `default`, as client-go does.
 */
export function buildEvent(
  regarding: KubeObject,
  options: EventOptions,
  source: EventSource,
  nowMs: number,
  random: () => number = Math.random,
): Event | Error {
  const ref = referenceTo(regarding);
  const action = options.action ?? options.reason;
  const what = `event ${JSON.stringify(options.reason)} about ${ref.kind ?? 'object'} ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name ?? ''}`;
  if (!ref.kind || !ref.name) return new Error(`${what}: the regarding object has no kind or name`);
  if (options.type !== 'Normal' && options.type !== 'Warning') {
    return new Error(`${what}: type must be Normal or Warning, got ${JSON.stringify(options.type)}`);
  }
  if (options.reason === '' || options.reason.length > maxReasonLength) {
    return new Error(`${what}: reason must be 1 to ${maxReasonLength} characters`);
  }
  if (action === '' || action.length > maxActionLength) {
    return new Error(`${what}: action must be 1 to ${maxActionLength} characters`);
  }
  const event: Event = {
    apiVersion: 'events.k8s.io/v1',
    kind: 'Event',
    metadata: { name: eventName(ref.name, nowMs, random), namespace: ref.namespace ?? 'default' },
    eventTime: formatMicroTime(nowMs),
    reportingController: source.reportingController,
    reportingInstance: source.reportingInstance,
    action,
    reason: options.reason,
    type: options.type,
    note: truncateNote(options.note),
    regarding: ref,
  };
  if (options.related) {
    event.related = 'metadata' in options.related ? referenceTo(options.related) : { ...options.related };
  }
  return event;
}

/**
 * Events that are the same for aggregation: same source, same object (by uid, kind,
 * namespace and name, not resourceVersion), same type, reason, action, note and
 * related object.
 */
export function eventKey(event: Event): string {
  const obj = (r: ObjectReference | undefined): unknown[] =>
    r ? [r.uid ?? '', r.kind ?? '', r.namespace ?? '', r.name ?? '', r.fieldPath ?? ''] : [];
  return JSON.stringify([
    event.reportingController,
    event.reportingInstance,
    obj(event.regarding),
    event.type,
    event.reason,
    event.action,
    event.note,
    obj(event.related),
  ]);
}

/** The rate-limit key of the regarding object. */
function objectKeyOf(ref: ObjectReference): string {
  return ref.uid ? `uid:${ref.uid}` : JSON.stringify([ref.kind, ref.namespace, ref.name]);
}

/** A token bucket on an injected clock: `burst` tokens, one more every `refillEveryMs`. */
export class TokenBucket {
  readonly burst: number;
  readonly refillEveryMs: number;
  #tokens: number;
  #last: number;

  constructor(burst: number, refillEveryMs: number, now: number) {
    this.burst = burst;
    this.refillEveryMs = refillEveryMs;
    this.#tokens = burst;
    this.#last = now;
  }

  /** Takes a token if there is one. */
  take(now: number): boolean {
    this.#refill(now);
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  tokens(now: number): number {
    this.#refill(now);
    return this.#tokens;
  }

  #refill(now: number): void {
    if (now > this.#last) {
      this.#tokens = Math.min(this.burst, this.#tokens + (now - this.#last) / this.refillEveryMs);
      this.#last = now;
    }
  }
}

/** One Event on the server and the repeats folded into it. */
export interface SeriesEntry {
  readonly key: string;
  /** The Event as first recorded: name and namespace are fixed for the series. */
  readonly event: Event;
  /** Observations so far, the first included. */
  count: number;
  lastObservedTime: number;
  /** `count` as the server has it: 0 until the create succeeded. */
  writtenCount: number;
  /** When the last create or patch was sent, for the patch interval. */
  lastWriteTime: number | undefined;
}

export type CorrelationDecision =
  | { action: 'create'; entry: SeriesEntry }
  | { action: 'series'; entry: SeriesEntry }
  | { action: 'drop'; reason: 'object-rate-limited' | 'global-rate-limited' };

export interface CorrelatorOptions {
  /** A repeat within this long of the last observation joins the series. Default 6 min (client-go). */
  seriesWindowMs?: number;
  /** At most one series patch per Event per this long (a flush excepted). Default 30 s. */
  seriesPatchIntervalMs?: number;
  /** New Events per regarding object: burst. Default 25 (client-go's spam filter). */
  objectBurst?: number;
  /** New Events per regarding object: one more token every this long. Default 5 min. */
  objectRefillMs?: number;
  /** New Events overall: burst. Default 100. */
  globalBurst?: number;
  /** New Events overall: one more token every this long. Default 100 ms (10 per second). */
  globalRefillMs?: number;
  /** Series and rate limiters remembered at most; the least recently seen go first. Default 4096. */
  maxEntries?: number;
}

/**
 * The decisions, without I/O: whether an event starts a new Event (if the rate
 * limits allow), joins an existing series, and when a series may be patched.
 * Only new Events cost tokens: a repeat is a counter bump, written at most once
 * per patch interval.
 */
export class EventCorrelator {
  readonly seriesWindowMs: number;
  readonly seriesPatchIntervalMs: number;
  readonly #objectBurst: number;
  readonly #objectRefillMs: number;
  readonly #maxEntries: number;
  readonly #global: TokenBucket;
  /** By event key, least recently observed first. */
  readonly #series = new Map<string, SeriesEntry>();
  /** By regarding object, least recently used first. */
  readonly #buckets = new Map<string, TokenBucket>();

  constructor(options: CorrelatorOptions = {}, now = 0) {
    this.seriesWindowMs = options.seriesWindowMs ?? 6 * 60_000;
    this.seriesPatchIntervalMs = options.seriesPatchIntervalMs ?? 30_000;
    this.#objectBurst = options.objectBurst ?? 25;
    this.#objectRefillMs = options.objectRefillMs ?? 5 * 60_000;
    this.#maxEntries = options.maxEntries ?? 4096;
    this.#global = new TokenBucket(options.globalBurst ?? 100, options.globalRefillMs ?? 100, now);
  }

  get size(): number {
    return this.#series.size;
  }

  observe(event: Event, now: number): CorrelationDecision {
    this.#expire(now);
    const key = eventKey(event);
    const existing = this.#series.get(key);
    if (existing) {
      existing.count++;
      existing.lastObservedTime = Math.max(existing.lastObservedTime, now);
      this.#series.delete(key);
      this.#series.set(key, existing);
      return { action: 'series', entry: existing };
    }

    const objectKey = objectKeyOf(event.regarding);
    let bucket = this.#buckets.get(objectKey);
    if (bucket) this.#buckets.delete(objectKey);
    bucket ??= new TokenBucket(this.#objectBurst, this.#objectRefillMs, now);
    this.#buckets.set(objectKey, bucket);
    while (this.#buckets.size > this.#maxEntries) this.#buckets.delete(first(this.#buckets));
    // The object's bucket first: one noisy object must not drain the global one.
    if (bucket.tokens(now) < 1) return { action: 'drop', reason: 'object-rate-limited' };
    if (!this.#global.take(now)) return { action: 'drop', reason: 'global-rate-limited' };
    bucket.take(now);

    const entry: SeriesEntry = {
      key,
      event,
      count: 1,
      lastObservedTime: now,
      writtenCount: 0,
      lastWriteTime: undefined,
    };
    this.#series.set(key, entry);
    while (this.#series.size > this.#maxEntries) this.#series.delete(first(this.#series));
    return { action: 'create', entry };
  }

  /** Forgets a series (its Event could not be written): the next identical event starts afresh. */
  forget(entry: SeriesEntry): void {
    if (this.#series.get(entry.key) === entry) this.#series.delete(entry.key);
  }

  /** Whether the server is behind on this series' count. */
  needsPatch(entry: SeriesEntry): boolean {
    return entry.writtenCount > 0 && entry.count > entry.writtenCount;
  }

  /** The earliest time the series may be patched again. */
  nextPatchTime(entry: SeriesEntry): number {
    return entry.lastWriteTime === undefined ? 0 : entry.lastWriteTime + this.seriesPatchIntervalMs;
  }

  #expire(now: number): void {
    for (const [key, entry] of this.#series) {
      if (now - entry.lastObservedTime < this.seriesWindowMs) break;
      this.#series.delete(key);
    }
  }
}

function first<K>(map: Map<K, unknown>): K {
  return map.keys().next().value as K;
}

/** The `series` of an entry, as written. */
export function seriesOf(entry: SeriesEntry): EventSeries {
  return { count: entry.count, lastObservedTime: formatMicroTime(entry.lastObservedTime) };
}

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
