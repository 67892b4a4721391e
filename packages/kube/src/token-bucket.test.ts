import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TokenBucket } from './token-bucket.ts';

describe('TokenBucket', () => {
  it('allows a burst, then one per refill period', () => {
    const bucket = new TokenBucket(3, 1_000, 0);
    assert.deepEqual(
      [1, 2, 3, 4].map(() => bucket.take(0)),
      [true, true, true, false],
    );
    assert.equal(bucket.take(999), false);
    assert.equal(bucket.take(1_000), true);
    assert.equal(bucket.take(1_000), false);
  });

  it('never holds more than the burst', () => {
    const bucket = new TokenBucket(2, 1_000, 0);
    assert.equal(bucket.tokens(1_000_000), 2);
    assert.deepEqual(
      [1, 2, 3].map(() => bucket.take(1_000_000)),
      [true, true, false],
    );
  });
});

describe('TokenBucket.reserve', () => {
  it('spends on credit and says when the token is due', () => {
    const bucket = new TokenBucket(2, 100, 0);
    assert.deepEqual(
      [1, 2, 3, 4].map(() => bucket.reserve(0)),
      [0, 0, 100, 200],
    );
    assert.equal(bucket.tokens(0), -2);
    assert.equal(bucket.take(150), false, 'owed tokens come back first');
    assert.equal(bucket.reserve(400), 0);
  });

  it('refills from the earlier time when the clock goes backwards', () => {
    const bucket = new TokenBucket(1, 1_000, 10_000);
    assert.equal(bucket.take(10_000), true);
    assert.equal(bucket.take(5_000), false, 'no refill for negative time');
    assert.equal(bucket.take(6_000), true, 'a second after the jump back, not after 10 s');
  });
});
