// Which events are the same Event (aggregation into a series, client-go's EventSeries), and which
// new Events the rate limits let through: per regarding object and overall. No I/O.

import type { Event, EventSeries, ObjectReference } from './event-builder.ts';
import { formatMicroTime } from './micro-time.ts';
import { TokenBucket } from './token-bucket.ts';

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
