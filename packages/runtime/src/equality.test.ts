import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deepCopy, deepEqual } from './equality.ts';

describe('deepEqual', () => {
  it('compares JSON deeply, undefined keys as absent', () => {
    assert.equal(deepEqual({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] }), true);
    assert.equal(deepEqual({ a: [1, { b: 2 }] }, { a: [1, { b: 3 }] }), false);
    assert.equal(deepEqual({ a: 1, b: undefined }, { a: 1 }), true);
    assert.equal(deepEqual([1, 2], [2, 1]), false);
    assert.equal(deepEqual({}, []), false);
    assert.equal(deepEqual(null, {}), false);
    assert.equal(deepEqual('1', 1), false);
  });

  it('copies deeply', () => {
    const a = { b: { c: [1] } };
    const c = deepCopy(a);
    c.b.c.push(2);
    assert.deepEqual(a, { b: { c: [1] } });
  });
});
