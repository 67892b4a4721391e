import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { FakeClock } from './clock.ts';
import {
  BucketRateLimiter,
  ItemExponentialFailureRateLimiter,
  MaxOfRateLimiter,
  defaultControllerRateLimiter,
} from './rate-limiter.ts';
import type { RateLimiter } from './rate-limiter.ts';

describe('ItemExponentialFailureRateLimiter', () => {
  it('doubles from 5 ms per failure of an item, capped at 1000 s', () => {
    const limiter = new ItemExponentialFailureRateLimiter<string>();
    const delays = Array.from({ length: 22 }, () => limiter.when('a'));
    assert.deepEqual(delays.slice(0, 6), [5, 10, 20, 40, 80, 160]);
    // 5 ms × 2^17 = 655.36 s is the last uncapped delay; 5 ms × 2^18 would exceed 1000 s.
    assert.equal(delays[17], 655_360);
    assert.deepEqual(delays.slice(18), [1_000_000, 1_000_000, 1_000_000, 1_000_000]);
    assert.equal(limiter.numRequeues('a'), 22);
  });

  it('tracks items separately, and forget resets one', () => {
    const limiter = new ItemExponentialFailureRateLimiter<string>();
    limiter.when('a');
    limiter.when('a');
    assert.equal(limiter.when('b'), 5);
    assert.equal(limiter.numRequeues('a'), 2);
    limiter.forget('a');
    assert.equal(limiter.numRequeues('a'), 0);
    assert.equal(limiter.when('a'), 5);
    assert.equal(limiter.numRequeues('b'), 1);
  });

  it('takes base, cap and keyOf options', () => {
    const limiter = new ItemExponentialFailureRateLimiter<{ name: string }>({
      baseDelayMs: 1000,
      maxDelayMs: 5000,
      keyOf: (ref) => ref.name,
    });
    assert.deepEqual(
      [1, 2, 3, 4, 5].map(() => limiter.when({ name: 'x' })),
      [1000, 2000, 4000, 5000, 5000],
    );
    assert.equal(limiter.numRequeues({ name: 'x' }), 5);
  });

  it('never exceeds the cap, even after thousands of failures', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 3000 }), (failures) => {
        const limiter = new ItemExponentialFailureRateLimiter<string>();
        for (let i = 0; i < failures; i++) limiter.when('a');
        const delay = limiter.when('a');
        assert.equal(delay, Math.min(5 * 2 ** failures, 1_000_000));
      }),
    );
  });
});

describe('BucketRateLimiter', () => {
  it('lets a burst through, then reserves future tokens at 1/qps apart', () => {
    const clock = new FakeClock();
    const limiter = new BucketRateLimiter({ qps: 10, burst: 100, clock });
    const burst = Array.from({ length: 100 }, (_, i) => limiter.when(`k${i}`));
    assert.deepEqual(burst, Array<number>(100).fill(0));
    assert.deepEqual(
      [1, 2, 3, 4].map(() => limiter.when('x')),
      [100, 200, 300, 400],
    );
  });

  it('refills at qps while idle: owed tokens first, then the rest is free', () => {
    const clock = new FakeClock();
    const limiter = new BucketRateLimiter({ qps: 10, burst: 100, clock });
    for (let i = 0; i < 103; i++) limiter.when('x'); // 3 tokens owed
    clock.advance(1000); // 10 tokens back
    const delays = Array.from({ length: 8 }, () => limiter.when('x'));
    assert.deepEqual(delays, [0, 0, 0, 0, 0, 0, 0, 100]);
  });

  it('never holds more than burst tokens, however long it idles', () => {
    const clock = new FakeClock();
    const limiter = new BucketRateLimiter({ qps: 10, burst: 5, clock });
    clock.advance(3_600_000);
    assert.deepEqual(
      Array.from({ length: 7 }, () => limiter.when('x')),
      [0, 0, 0, 0, 0, 100, 200],
    );
  });

  it('spaces items called exactly at qps by one interval each', () => {
    const clock = new FakeClock();
    const limiter = new BucketRateLimiter({ qps: 2, burst: 1, clock });
    assert.equal(limiter.when('x'), 0);
    const delays: number[] = [];
    for (let i = 0; i < 5; i++) {
      delays.push(limiter.when('x'));
      clock.advance(500);
    }
    // Each call finds the token it was promised half a second ago already spent.
    assert.deepEqual(delays, [500, 500, 500, 500, 500]);
  });

  it('admits at most burst + qps × window in any window of granted times', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 50 }),
        fc.array(fc.integer({ min: 0, max: 400 }), { minLength: 1, maxLength: 200 }),
        (qps, burst, gaps) => {
          const clock = new FakeClock();
          const limiter = new BucketRateLimiter({ qps, burst, clock });
          const granted: number[] = [];
          for (const gap of gaps) {
            clock.advance(gap);
            granted.push(clock.now() + limiter.when('x'));
          }
          for (let i = 0; i < granted.length; i++) {
            if (i > 0) assert.ok((granted[i] as number) >= (granted[i - 1] as number) - 1e-6);
            for (let j = i; j < granted.length; j++) {
              const window = (granted[j] as number) - (granted[i] as number);
              assert.ok(j - i + 1 <= burst + (window * qps) / 1000 + 1e-6, `${j - i + 1} in ${window} ms`);
            }
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('tracks no items, and rejects a bucket that could never grant', () => {
    const limiter = new BucketRateLimiter({ clock: new FakeClock() });
    limiter.when('a');
    assert.equal(limiter.numRequeues('a'), 0);
    limiter.forget('a');
    assert.throws(() => new BucketRateLimiter({ qps: 0 }), /qps must be > 0/);
    assert.throws(() => new BucketRateLimiter({ burst: 0 }), /burst must be >= 1/);
    const unlimited = new BucketRateLimiter({ qps: Infinity, burst: 1 });
    assert.deepEqual([unlimited.when('a'), unlimited.when('a'), unlimited.when('a')], [0, 0, 0]);
  });
});

describe('MaxOfRateLimiter', () => {
  /** A limiter that answers a fixed sequence and records forgets. */
  function scripted(delays: number[], requeues: number): RateLimiter<string> & { forgotten: string[] } {
    const forgotten: string[] = [];
    return {
      forgotten,
      when: () => delays.shift() ?? 0,
      forget: (item) => void forgotten.push(item),
      numRequeues: () => requeues,
    };
  }

  it('answers the longest delay and the most requeues, and forgets in all', () => {
    const a = scripted([10, 1, 7], 3);
    const b = scripted([2, 20, 7], 5);
    const limiter = new MaxOfRateLimiter(a, b);
    assert.deepEqual([limiter.when('x'), limiter.when('x'), limiter.when('x')], [10, 20, 7]);
    assert.equal(limiter.numRequeues('x'), 5);
    limiter.forget('x');
    assert.deepEqual([a.forgotten, b.forgotten], [['x'], ['x']]);
    assert.throws(() => new MaxOfRateLimiter<string>(), /at least one/);
  });
});

describe('defaultControllerRateLimiter', () => {
  it('is per-item exponential backoff, until the overall bucket (10 qps, burst 100) is the slower', () => {
    const clock = new FakeClock();
    const limiter = defaultControllerRateLimiter({ clock });
    assert.deepEqual(
      Array.from({ length: 8 }, () => limiter.when('a')),
      [5, 10, 20, 40, 80, 160, 320, 640],
    );
    assert.equal(limiter.numRequeues('a'), 8);
    limiter.forget('a');
    assert.equal(limiter.numRequeues('a'), 0);
    assert.equal(limiter.when('a'), 5);
    // 9 tokens spent; 91 more distinct items fit in the burst, each with its first-failure delay.
    for (let i = 0; i < 91; i++) assert.equal(limiter.when(`k${i}`), 5);
    assert.equal(limiter.when('k-next'), 100);
    assert.equal(limiter.when('k-after'), 200);
  });

  it('keys items with keyOf', () => {
    const limiter = defaultControllerRateLimiter<{ ns: string; name: string }>({
      keyOf: (r) => `${r.ns}/${r.name}`,
      clock: new FakeClock(),
    });
    limiter.when({ ns: 'a', name: 'b' });
    assert.equal(limiter.when({ ns: 'a', name: 'b' }), 10);
    assert.equal(limiter.numRequeues({ ns: 'a', name: 'b' }), 2);
  });
});
