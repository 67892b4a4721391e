// The time source every timed layer takes as an option (work queue, rate limiters, leader election,
// controllers), so that tests drive time with a FakeClock instead of sleeping.

/** An opaque timer handle: whatever the clock's `setTimeout` returned. */
export type TimerHandle = unknown;

/** Wall time in milliseconds since the epoch, and one-shot timers on the same time line. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** The process clock: `Date.now()` and Node's timers. */
export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** Resolves after `ms` on `clock`, or at once when `signal` aborts (never rejects). */
export function sleep(clock: Clock, ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const onAbort = (): void => {
      clock.clearTimeout(handle);
      resolve();
    };
    const handle = clock.setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

interface FakeTimer {
  at: number;
  seq: number;
  fn: () => void;
}

/**
 * A clock that moves only when told to. Timers fire synchronously inside `advance`/`set`, in order of
 * due time (then of creation), each seeing `now()` equal to its due time; timers they create that fall
 * inside the window fire too. Promise continuations run only once the caller awaits.
 */
export class FakeClock implements Clock {
  #now: number;
  #seq = 0;
  readonly #timers = new Map<number, FakeTimer>();

  constructor(now = 0) {
    this.#now = now;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const seq = ++this.#seq;
    this.#timers.set(seq, { at: this.#now + (ms > 0 ? ms : 0), seq, fn });
    return seq;
  }

  clearTimeout(handle: TimerHandle): void {
    if (typeof handle === 'number') this.#timers.delete(handle);
  }

  /** How many timers are pending. */
  get pendingTimers(): number {
    return this.#timers.size;
  }

  /** When the earliest pending timer is due, or undefined if none is. */
  nextTimerAt(): number | undefined {
    return this.#next()?.at;
  }

  /** Moves time forward by `ms`, firing the timers that come due. */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`FakeClock.advance: ms must be >= 0, got ${ms}`);
    this.set(this.#now + ms);
  }

  /** Sets the time; moving forward fires due timers, moving backward fires none. */
  set(ms: number): void {
    for (let timer = this.#next(); timer && timer.at <= ms; timer = this.#next()) {
      this.#timers.delete(timer.seq);
      this.#now = Math.max(this.#now, timer.at);
      timer.fn();
    }
    this.#now = ms;
  }

  #next(): FakeTimer | undefined {
    // Maps iterate in insertion order, so the first-made timer wins a tie.
    let next: FakeTimer | undefined;
    for (const timer of this.#timers.values()) if (!next || timer.at < next.at) next = timer;
    return next;
  }
}
