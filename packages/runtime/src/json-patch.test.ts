import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { deepEqual } from './equality.ts';
import { applyJsonPatch, applyMergePatch, createMergePatch, jsonPatchDiff } from './json-patch.ts';

describe('jsonPatchDiff', () => {
  it('changes one container field with one replace, not a rewrite of the list', () => {
    const a = {
      spec: {
        containers: [
          { name: 'a', image: 'x:1' },
          { name: 'b', image: 'y:1' },
        ],
      },
    };
    const b = {
      spec: {
        containers: [
          { name: 'a', image: 'x:1' },
          { name: 'b', image: 'y:2' },
        ],
      },
    };
    assert.deepEqual(jsonPatchDiff(a, b), [
      { op: 'replace', path: '/spec/containers/1/image', value: 'y:2' },
    ]);
  });

  it('escapes ~ and / in keys (annotations)', () => {
    const ops = jsonPatchDiff({ metadata: {} }, { metadata: { annotations: { 'a/b~c': 'v' } } });
    assert.deepEqual(ops, [{ op: 'add', path: '/metadata/annotations', value: { 'a/b~c': 'v' } }]);
    const ops2 = jsonPatchDiff({ a: { 'x/y': 1, 'p~q': 1 } }, { a: { 'x/y': 2 } });
    assert.deepEqual(ops2, [
      { op: 'remove', path: '/a/p~0q' },
      { op: 'replace', path: '/a/x~1y', value: 2 },
    ]);
  });

  it('removes trailing array elements from the end so indexes stay valid', () => {
    const ops = jsonPatchDiff({ l: [1, 2, 3, 4] }, { l: [1] });
    assert.deepEqual(ops, [
      { op: 'remove', path: '/l/3' },
      { op: 'remove', path: '/l/2' },
      { op: 'remove', path: '/l/1' },
    ]);
    assert.deepEqual(applyJsonPatch({ l: [1, 2, 3, 4] }, ops), { l: [1] });
  });

  it('treats undefined-valued keys as absent', () => {
    assert.deepEqual(jsonPatchDiff({ a: 1, b: undefined }, { a: 1 }), []);
  });

  it('round-trips: applying diff(a, b) to a gives b', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), (a, b) => {
        const out = applyJsonPatch(a, jsonPatchDiff(a, b));
        assert.ok(deepEqual(out, b), `${JSON.stringify(out)} != ${JSON.stringify(b)}`);
      }),
      { numRuns: 500 },
    );
  });
});

describe('__proto__ keys', () => {
  it('stay data in patches and never become prototypes', () => {
    const b: unknown = JSON.parse('{"x":{"__proto__":{"polluted":true}}}');
    const out = applyJsonPatch<{ x: Record<string, unknown> }>({ x: {} }, jsonPatchDiff({ x: {} }, b));
    assert.equal(Object.getPrototypeOf(out.x), Object.prototype);
    assert.equal((out.x as { polluted?: boolean }).polluted, undefined);
    assert.ok(Object.hasOwn(out.x, '__proto__'));
    const merged = applyMergePatch<{ x: Record<string, unknown> }>({ x: {} }, createMergePatch({ x: {} }, b));
    assert.equal(Object.getPrototypeOf(merged.x), Object.prototype);
    assert.ok(Object.hasOwn(merged.x, '__proto__'));
  });
});

describe('applyJsonPatch', () => {
  it('names the failing operation', () => {
    assert.throws(
      () => applyJsonPatch({ a: 1 }, [{ op: 'replace', path: '/b/c', value: 1 }]),
      /json patch operation 0 \(replace \/b\/c\)/,
    );
  });

  it('supports test, move and copy', () => {
    const out = applyJsonPatch({ a: { b: 1 }, l: [1] }, [
      { op: 'test', path: '/a/b', value: 1 },
      { op: 'copy', from: '/a', path: '/c' },
      { op: 'move', from: '/a/b', path: '/l/-' },
    ]);
    assert.deepEqual(out, { a: {}, c: { b: 1 }, l: [1, 1] });
    assert.throws(() => applyJsonPatch({ a: 1 }, [{ op: 'test', path: '/a', value: 2 }]), /test failed/);
  });

  it('does not modify its input', () => {
    const doc = { a: [1] };
    applyJsonPatch(doc, [{ op: 'add', path: '/a/0', value: 0 }]);
    assert.deepEqual(doc, { a: [1] });
  });
});

describe('merge patch', () => {
  it('round-trips objects (RFC 7386 cannot express null values, so none are generated)', () => {
    const json = fc.jsonValue().filter((v) => !JSON.stringify(v).includes('null'));
    fc.assert(
      fc.property(fc.dictionary(fc.string(), json), fc.dictionary(fc.string(), json), (a, b) => {
        const patch = createMergePatch(a, b);
        const out = patch === undefined ? a : applyMergePatch(a, patch);
        assert.ok(deepEqual(out, b), `${JSON.stringify(out)} != ${JSON.stringify(b)}`);
      }),
      { numRuns: 300 },
    );
  });

  it('encodes removals as null and leaves equal values out', () => {
    assert.deepEqual(createMergePatch({ a: 1, b: { c: 1, d: 2 } }, { b: { c: 1, d: 3 } }), {
      a: null,
      b: { d: 3 },
    });
    assert.equal(createMergePatch({ a: [1] }, { a: [1] }), undefined);
  });
});
