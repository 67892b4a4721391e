import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LruCache } from './lru-cache.ts';

describe('LruCache', () => {
  it('evicts the least recently used entry past maxEntries', () => {
    const cache = new LruCache<string, number>({ maxEntries: 2 });
    cache.set('a', 1).set('b', 2);
    assert.equal(cache.get('a'), 1); // a is now the most recent
    cache.set('c', 3);
    assert.equal(cache.size, 2);
    assert.equal(cache.get('b'), undefined);
    assert.deepEqual(
      [...cache.entries()],
      [
        ['a', 1],
        ['c', 3],
      ],
    );
  });

  it('expires entries after ttlMs, or a ttl given to set', () => {
    let now = 1000;
    const cache = new LruCache<string, number>({ maxEntries: 10, ttlMs: 100, clock: { now: () => now } });
    cache.set('a', 1).set('b', 2, 500);
    now += 100;
    assert.equal(cache.has('a'), false);
    assert.equal(cache.get('a'), undefined);
    assert.equal(cache.size, 1, 'an expired entry read is dropped');
    assert.equal(cache.get('b'), 2);
    now += 400;
    assert.deepEqual([...cache.entries()], []);
    assert.equal(cache.size, 0);
  });

  it('replacing a key keeps one entry; delete and clear remove', () => {
    const cache = new LruCache<string, number>({ maxEntries: 3 });
    cache.set('a', 1).set('a', 2).set('b', 3);
    assert.equal(cache.size, 2);
    assert.equal(cache.get('a'), 2);
    assert.equal(cache.delete('a'), true);
    cache.clear();
    assert.equal(cache.size, 0);
  });

  it('refuses a cap below one', () => {
    assert.throws(() => new LruCache({ maxEntries: 0 }), RangeError);
  });
});
