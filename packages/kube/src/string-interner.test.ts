import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { KubeObject } from './object.ts';
import { StringInterner } from './string-interner.ts';
import { internStrings } from './transform.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Heap held by what `make` returns, after full GCs. */
function heldBytes(make: () => unknown): number {
  gc();
  const before = process.memoryUsage().heapUsed;
  const kept = make();
  gc();
  const held = process.memoryUsage().heapUsed - before;
  assert.ok(kept);
  return held;
}

function parsedDeployments(count: number): KubeObject[] {
  // Parsed from JSON as an informer gets them: each string value its own copy.
  const stash = `{"versions":[${'"x",'.repeat(120)}"y"]}`;
  return Array.from(
    { length: count },
    (_, i) =>
      JSON.parse(
        JSON.stringify({
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: {
            name: `app-${i}`,
            namespace: 'bench-memory-12',
            uid: `0000-${i}`,
            annotations: { 'projector.servicebinding.io/mapping': stash },
          },
          spec: {
            template: {
              spec: { dnsPolicy: 'ClusterFirst', containers: [{ image: 'registry.example.com/app:1.0' }] },
            },
          },
        }),
      ) as KubeObject,
  );
}

describe('StringInterner', () => {
  it('holds at most maxEntries strings, and starts over when full', () => {
    const interner = new StringInterner({ maxEntries: 3 });
    for (const s of ['aaaaaaaaaaaa', 'bbbbbbbbbbbb', 'cccccccccccc']) interner.intern(s);
    assert.equal(interner.size, 3);
    interner.intern('aaaaaaaaaaaa');
    assert.equal(interner.size, 3, 'a known string adds nothing');
    interner.intern('dddddddddddd');
    assert.equal(interner.size, 1);
  });

  it('leaves strings longer than maxLength out of the table', () => {
    const interner = new StringInterner({ maxLength: 8 });
    assert.equal(interner.intern('123456789'), '123456789');
    assert.equal(interner.size, 0);
    interner.intern('12345678');
    assert.equal(interner.size, 1);
  });
});

describe('internStrings', () => {
  it('changes no value, and leaves uid and resourceVersion out of the table', () => {
    const interner = new StringInterner();
    const [obj] = parsedDeployments(1) as [KubeObject];
    obj.metadata.resourceVersion = '12345';
    const before = structuredClone(obj);
    assert.equal(internStrings(interner)(obj), obj);
    assert.deepEqual(obj, before);
    // name, namespace, annotation, apiVersion, kind, dnsPolicy, image: not uid or resourceVersion.
    assert.equal(interner.size, 7);
  });

  it('keeps one copy of a repeated value across objects', () => {
    const count = 2_000;
    const plain = heldBytes(() => parsedDeployments(count));
    const interned = heldBytes(() => parsedDeployments(count).map(internStrings(new StringInterner())));
    // Each object's own copy of the 600-character annotation is gone: over 1 MB.
    assert.ok(plain - interned > count * 500, `held ${plain} B without interning, ${interned} B with`);
  });

  it('leaves frozen objects and subtrees deeper than its bound alone', () => {
    const interner = new StringInterner();
    const frozen = Object.freeze({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: Object.freeze({ name: 'c' }),
    });
    assert.equal(internStrings(interner)(frozen as KubeObject), frozen);
    let deep: Record<string, unknown> = { leaf: 'deep value, never reached' };
    for (let i = 0; i < 100_000; i++) deep = { next: deep };
    const obj = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'deep' }, data: deep } as KubeObject;
    assert.equal(internStrings(interner)(obj), obj);
    assert.equal(interner.size, 3, 'apiVersion, kind and name only');
  });
});
