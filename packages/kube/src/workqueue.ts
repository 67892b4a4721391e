// The controller work queue of client-go's util/workqueue (a rate-limiting, delaying queue):
// - dedup: an item added again while it waits is queued once;
// - an item is never handed to two workers at once: added while being processed, it is marked dirty
//   and queued again only when the worker calls done();
// - addAfter holds items in a min-heap by ready time; the same item added after twice keeps the
//   earlier time;
// - addRateLimited delays an item by what the rate limiter says; forget() resets its backoff.
import type { Registry } from 'prom-client';
import { realClock } from './clock.ts';
import type { Clock, TimerHandle } from './clock.ts';
import { defaultControllerRateLimiter } from './rate-limiter.ts';
import type { RateLimiter } from './rate-limiter.ts';
import { noWorkQueueMetrics, workQueueMetrics } from './workqueue-metrics.ts';
import type { WorkQueueMetrics } from './workqueue-metrics.ts';

export interface WorkQueueOptions<T> {
  /** Names the queue in metrics (the `name` label). Required with `metrics`. */
  name?: string;
  /** Default: `defaultControllerRateLimiter()` on this queue's clock. */
  rateLimiter?: RateLimiter<T>;
  clock?: Clock;
  /** Where to register the queue's metrics. Default: none. */
  metrics?: Registry;
  /**
   * What makes two items the same item. Default: the item itself, which compares strings and numbers
   * by value and objects by reference. Give one for object items, e.g. `(ref) => ref.namespace + '/' + ref.name`.
   */
  keyOf?: (item: T) => unknown;
}

/** A delayed item. `index` is its slot in the heap. */
interface Waiting<T> {
  item: T;
  key: unknown;
  readyAt: number;
  seq: number;
  index: number;
}

/** Node's longest timer; longer delays are waited for in steps. */
const maxTimerMs = 2 ** 31 - 1;

/**
 * A work queue for controllers. Workers loop on `get()` → work → `done(item)`, and on failure call
 * `addRateLimited(item)`, on success `forget(item)`:
 *
 * ```ts
 * for await (const key of queue) {
 *   try { await reconcile(key); queue.forget(key); }
 *   catch { queue.addRateLimited(key); }
 *   finally { queue.done(key); }
 * }
 * ```
 */
export class WorkQueue<T extends NonNullable<unknown> = string> implements AsyncIterable<T> {
  readonly name: string;
  readonly #clock: Clock;
  readonly #rateLimiter: RateLimiter<T>;
  readonly #metrics: WorkQueueMetrics;
  readonly #keyOf: (item: T) => unknown;

  /** Items ready to be handed out, FIFO: `#queue[#head]` is next. */
  #queue: (T | undefined)[] = [];
  #head = 0;
  /** Items that need processing (queued, or to be queued again once done), by key. */
  readonly #dirty = new Map<unknown, T>();
  /** Keys being processed. */
  readonly #processing = new Set<unknown>();
  /** Workers blocked in get(); there are some only while #queue is empty. */
  readonly #getters: ((item: T | undefined) => void)[] = [];

  /** Delayed items: a min-heap by (readyAt, seq), and the same entries by key. */
  readonly #waiting: Waiting<T>[] = [];
  readonly #waitingByKey = new Map<unknown, Waiting<T>>();
  #seq = 0;
  /** The armed timer and when it fires; `#timerAt` is Infinity when none is armed. */
  #timer: TimerHandle;
  #timerAt = Infinity;

  #shuttingDown = false;
  readonly #drainers = new Set<() => void>();

  constructor(options: WorkQueueOptions<T> = {}) {
    this.name = options.name ?? '';
    this.#clock = options.clock ?? realClock;
    this.#keyOf = options.keyOf ?? ((item) => item);
    this.#rateLimiter =
      options.rateLimiter ??
      defaultControllerRateLimiter<T>({ clock: this.#clock, ...(options.keyOf && { keyOf: options.keyOf }) });
    if (options.metrics) {
      if (!this.name) throw new TypeError('WorkQueue: a queue with metrics needs a name (its "name" label)');
      this.#metrics = workQueueMetrics({ registry: options.metrics, name: this.name, clock: this.#clock });
    } else {
      this.#metrics = noWorkQueueMetrics;
    }
  }

  /** How many items are ready and waiting for a worker (not delayed, not in flight). */
  get length(): number {
    return this.#queue.length - this.#head;
  }

  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  /** Queues `item` unless it is already queued; ignored once shutting down. */
  add(item: T): void {
    if (this.#shuttingDown) return;
    const key = this.#keyOf(item);
    if (this.#dirty.has(key)) return;
    this.#metrics.add(key);
    this.#dirty.set(key, item);
    if (this.#processing.has(key)) return; // done() queues it again
    this.#enqueue(item);
  }

  /** Adds `item` after `ms` milliseconds; if it is already waiting, the earlier time wins. */
  addAfter(item: T, ms: number): void {
    if (this.#shuttingDown) return;
    this.#metrics.retry();
    if (!(ms > 0)) {
      this.add(item);
      return;
    }
    const readyAt = this.#clock.now() + ms;
    const key = this.#keyOf(item);
    const entry = this.#waitingByKey.get(key);
    if (entry) {
      if (readyAt >= entry.readyAt) return;
      entry.readyAt = readyAt;
      entry.item = item;
      this.#siftUp(entry.index);
    } else {
      const waiting: Waiting<T> = { item, key, readyAt, seq: this.#seq++, index: this.#waiting.length };
      this.#waitingByKey.set(key, waiting);
      this.#waiting.push(waiting);
      this.#siftUp(waiting.index);
    }
    this.#schedule();
  }

  /** Adds `item` when the rate limiter allows: a failed item backs off. */
  addRateLimited(item: T): void {
    if (this.#shuttingDown) return;
    this.addAfter(item, this.#rateLimiter.when(item));
  }

  /** Resets the rate limiter's record of `item`: call it when the item succeeded. */
  forget(item: T): void {
    this.#rateLimiter.forget(item);
  }

  /** How many times `item` was rate-limited since it was last forgotten. */
  numRequeues(item: T): number {
    return this.#rateLimiter.numRequeues(item);
  }

  /**
   * The next item, once there is one; the caller owns it until `done(item)`. Resolves `undefined` once
   * the queue is shutting down and has no ready item left.
   */
  get(): Promise<T | undefined> {
    if (this.#head < this.#queue.length) return Promise.resolve(this.#take(this.#dequeue()));
    if (this.#shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.#getters.push(resolve));
  }

  /** Ends the processing of `item`; if it was added again meanwhile, it is queued again now. */
  done(item: T): void {
    const key = this.#keyOf(item);
    if (!this.#processing.delete(key)) return;
    this.#metrics.done(key);
    const dirty = this.#dirty.get(key);
    if (dirty !== undefined) this.#enqueue(dirty);
    if (this.#processing.size === 0) for (const drained of this.#drainers) drained();
  }

  /**
   * Stops intake: later adds are ignored, delayed items are dropped, and workers blocked in `get()`
   * get `undefined`. Items already queued are still handed out. Ends a pending `shutDownWithDrain`.
   */
  shutDown(): void {
    this.#stopIntake();
    for (const drained of this.#drainers) drained();
  }

  /**
   * Shuts down as `shutDown` does, then resolves once no item is being processed (every item handed
   * out is done). Rejects with `signal.reason` if `signal` aborts first; the queue stays shut down.
   */
  shutDownWithDrain(signal?: AbortSignal): Promise<void> {
    this.#stopIntake();
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    if (this.#processing.size === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        this.#drainers.delete(drained);
        reject(signal?.reason as Error);
      };
      const drained = (): void => {
        this.#drainers.delete(drained);
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      this.#drainers.add(drained);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Yields items until the queue is shut down and empty; call `done(item)` for each. */
  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    for (let item = await this.get(); item !== undefined; item = await this.get()) yield item;
  }

  #stopIntake(): void {
    if (this.#shuttingDown) return;
    this.#shuttingDown = true;
    if (this.#timerAt !== Infinity) this.#clock.clearTimeout(this.#timer);
    this.#timerAt = Infinity;
    this.#waiting.length = 0;
    this.#waitingByKey.clear();
    // Getters wait only while nothing is queued: there is nothing left for them.
    for (const getter of this.#getters.splice(0)) getter(undefined);
    this.#metrics.shutDown();
  }

  /** Hands `item` to a blocked worker, or queues it. */
  #enqueue(item: T): void {
    const getter = this.#getters.shift();
    if (getter) getter(this.#take(item));
    else this.#queue.push(item);
  }

  #dequeue(): T {
    const item = this.#queue[this.#head] as T;
    this.#queue[this.#head++] = undefined;
    if (this.#head === this.#queue.length) {
      this.#queue.length = 0;
      this.#head = 0;
    } else if (this.#head >= 1024 && this.#head * 2 >= this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }

  /** Moves `item` from dirty to processing. */
  #take(item: T): T {
    const key = this.#keyOf(item);
    this.#dirty.delete(key);
    this.#processing.add(key);
    this.#metrics.get(key);
    return item;
  }

  // ---- delayed items ----

  /** Arms the timer for the earliest delayed item, unless one already fires no later. */
  #schedule(): void {
    const next = this.#waiting[0];
    if (next === undefined || (this.#timerAt !== Infinity && this.#timerAt <= next.readyAt)) return;
    if (this.#timerAt !== Infinity) this.#clock.clearTimeout(this.#timer);
    const now = this.#clock.now();
    const ms = Math.min(Math.max(0, next.readyAt - now), maxTimerMs);
    this.#timerAt = now + ms;
    this.#timer = this.#clock.setTimeout(this.#fire, ms);
  }

  readonly #fire = (): void => {
    this.#timerAt = Infinity;
    const now = this.#clock.now();
    for (let next = this.#waiting[0]; next && next.readyAt <= now; next = this.#waiting[0]) {
      this.#popWaiting();
      this.#waitingByKey.delete(next.key);
      this.add(next.item);
    }
    this.#schedule();
  };

  #less(a: Waiting<T>, b: Waiting<T>): boolean {
    return a.readyAt < b.readyAt || (a.readyAt === b.readyAt && a.seq < b.seq);
  }

  #place(entry: Waiting<T>, index: number): void {
    this.#waiting[index] = entry;
    entry.index = index;
  }

  #siftUp(index: number): void {
    const heap = this.#waiting;
    const entry = heap[index] as Waiting<T>;
    while (index > 0) {
      const parentIndex = (index - 1) >> 1;
      const parent = heap[parentIndex] as Waiting<T>;
      if (!this.#less(entry, parent)) break;
      this.#place(parent, index);
      index = parentIndex;
    }
    this.#place(entry, index);
  }

  #popWaiting(): void {
    const heap = this.#waiting;
    const last = heap.pop() as Waiting<T>;
    if (heap.length === 0) return;
    // Sift `last` down from the root.
    let index = 0;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      let child = left;
      if (right < heap.length && this.#less(heap[right] as Waiting<T>, heap[left] as Waiting<T>))
        child = right;
      const smallest = heap[child] as Waiting<T>;
      if (!this.#less(smallest, last)) break;
      this.#place(smallest, index);
      index = child;
    }
    this.#place(last, index);
  }
}
