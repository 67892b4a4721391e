// The token bucket behind every rate limit in this package: the work queue's overall limiter
// (`BucketRateLimiter`) and the event recorder's per-object and global spam filters. Time is passed in
// (milliseconds on the caller's clock), so the bucket works on any `Clock`, fake ones included.

/**
 * `burst` tokens, one more every `refillEveryMs`, never more than `burst`. `take` spends a token only if
 * there is one (a filter that drops); `reserve` spends one on credit and says how long until it exists
 * (a limiter that delays, like golang.org/x/time/rate's `Reserve`).
 */
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

  /** Takes a token, on credit if there is none: how long after `now` it is due (0 if it was there). */
  reserve(now: number): number {
    this.#refill(now);
    this.#tokens -= 1;
    return this.#tokens < 0 ? -this.#tokens * this.refillEveryMs : 0;
  }

  /** Tokens there now; negative while reservations are owed. */
  tokens(now: number): number {
    this.#refill(now);
    return this.#tokens;
  }

  #refill(now: number): void {
    // A clock that went backwards refills nothing, and refilling resumes from the earlier time
    // (as x/time/rate does) rather than starving the bucket until the clock catches up.
    const elapsed = Math.max(0, now - this.#last);
    this.#tokens = Math.min(this.burst, this.#tokens + elapsed / this.refillEveryMs);
    this.#last = now;
  }
}
