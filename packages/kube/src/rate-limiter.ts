// Rate limiters for the work queue, as in client-go's util/workqueue: how long an item waits before it
// is retried. Delays are in milliseconds.
import { realClock } from './clock.ts';
import type { Clock } from './clock.ts';
import { TokenBucket } from './token-bucket.ts';

export interface RateLimiter<T> {
  /** How long `item` should wait before it is processed again; counts as one failure of it. */
  when(item: T): number;
  /** Stops tracking `item`: it succeeded, or was given up on. */
  forget(item: T): void;
  /** How many times `item` has failed since it was last forgotten. */
  numRequeues(item: T): number;
}

export interface ItemExponentialFailureRateLimiterOptions<T> {
  /** Delay after the first failure; doubles with each further failure. Default 5 ms. */
  baseDelayMs?: number;
  /** Upper bound of the delay. Default 1000 s. */
  maxDelayMs?: number;
  /** What makes two items the same item; default: the item itself (strings compare by value). */
  keyOf?: (item: T) => unknown;
}

/** Per item: `baseDelayMs * 2^failures`, capped at `maxDelayMs`. */
export class ItemExponentialFailureRateLimiter<T> implements RateLimiter<T> {
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  readonly #keyOf: (item: T) => unknown;
  readonly #failures = new Map<unknown, number>();

  constructor(options: ItemExponentialFailureRateLimiterOptions<T> = {}) {
    this.baseDelayMs = options.baseDelayMs ?? 5;
    this.maxDelayMs = options.maxDelayMs ?? 1_000_000;
    this.#keyOf = options.keyOf ?? identity;
  }

  when(item: T): number {
    const key = this.#keyOf(item);
    const failures = this.#failures.get(key) ?? 0;
    this.#failures.set(key, failures + 1);
    // 2 ** failures is Infinity past 1023 failures; min() still caps it.
    return Math.min(this.baseDelayMs * 2 ** failures, this.maxDelayMs);
  }

  forget(item: T): void {
    this.#failures.delete(this.#keyOf(item));
  }

  numRequeues(item: T): number {
    return this.#failures.get(this.#keyOf(item)) ?? 0;
  }
}

export interface BucketRateLimiterOptions {
  /** Tokens added per second. Default 10; `Infinity` never delays. */
  qps?: number;
  /** Bucket size: how many items may go at once after a quiet period. Default 100. */
  burst?: number;
  clock?: Clock;
}

/**
 * One token bucket over all items, like golang.org/x/time/rate's `Limiter.Reserve()`: the bucket
 * starts full, each `when` takes a token, and once it is empty a call reserves the next future token,
 * so a burst of N > burst items gets delays of 1/qps, 2/qps, ... The bucket does not track items.
 */
export class BucketRateLimiter<T = unknown> implements RateLimiter<T> {
  readonly qps: number;
  readonly burst: number;
  readonly #clock: Clock;
  readonly #bucket: TokenBucket;

  constructor(options: BucketRateLimiterOptions = {}) {
    this.qps = options.qps ?? 10;
    this.burst = options.burst ?? 100;
    if (!(this.qps > 0)) throw new RangeError(`BucketRateLimiter: qps must be > 0, got ${this.qps}`);
    if (!(this.burst >= 1)) throw new RangeError(`BucketRateLimiter: burst must be >= 1, got ${this.burst}`);
    this.#clock = options.clock ?? realClock;
    this.#bucket = new TokenBucket(this.burst, 1000 / this.qps, this.#clock.now());
  }

  when(_item: T): number {
    if (this.qps === Infinity) return 0;
    return this.#bucket.reserve(this.#clock.now());
  }

  forget(_item: T): void {}

  numRequeues(_item: T): number {
    return 0;
  }
}

/** The worst (longest) delay of several limiters; each of them sees every call. */
export class MaxOfRateLimiter<T> implements RateLimiter<T> {
  readonly limiters: readonly RateLimiter<T>[];

  constructor(...limiters: RateLimiter<T>[]) {
    if (limiters.length === 0) throw new TypeError('MaxOfRateLimiter needs at least one limiter');
    this.limiters = limiters;
  }

  when(item: T): number {
    let delay = 0;
    for (const limiter of this.limiters) delay = Math.max(delay, limiter.when(item));
    return delay;
  }

  forget(item: T): void {
    for (const limiter of this.limiters) limiter.forget(item);
  }

  numRequeues(item: T): number {
    let requeues = 0;
    for (const limiter of this.limiters) requeues = Math.max(requeues, limiter.numRequeues(item));
    return requeues;
  }
}

export interface ControllerRateLimiterOptions<T> {
  clock?: Clock;
  keyOf?: (item: T) => unknown;
}

/**
 * client-go's `DefaultTypedControllerRateLimiter`: per-item exponential backoff from 5 ms to 1000 s,
 * and an overall bucket of 10 qps with a burst of 100, whichever delays more.
 */
export function defaultControllerRateLimiter<T = string>(
  options: ControllerRateLimiterOptions<T> = {},
): RateLimiter<T> {
  const { clock, keyOf } = options;
  return new MaxOfRateLimiter<T>(
    new ItemExponentialFailureRateLimiter<T>({
      baseDelayMs: 5,
      maxDelayMs: 1_000_000,
      ...(keyOf && { keyOf }),
    }),
    new BucketRateLimiter<T>({ qps: 10, burst: 100, ...(clock && { clock }) }),
  );
}

function identity(item: unknown): unknown {
  return item;
}
