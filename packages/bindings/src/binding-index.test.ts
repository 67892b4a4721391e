import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EventHandler, KubeObject, TypeRef } from '@bindery/kube';
import { BindingIndex } from './binding-index.ts';

interface Pair extends KubeObject {
  spec: { left: TypeRef & { name?: string }; right: TypeRef & { name: string } };
}
interface Entry {
  key: string;
  left: TypeRef;
  right: TypeRef & { name: string };
  namespace: string;
}

const pair = (name: string, left: TypeRef, right = 'db', namespace = 'default'): Pair => ({
  apiVersion: 'example.com/v1',
  kind: 'Pair',
  metadata: { namespace, name },
  spec: { left, right: { apiVersion: 'v1', kind: 'Secret', name: right } },
});

function index(kindsByVersion = false): BindingIndex<Pair, Entry, 'left' | 'right'> {
  return new BindingIndex<Pair, Entry, 'left' | 'right'>({
    entry: (b, key) =>
      b.spec.left.kind === 'Invalid'
        ? undefined
        : { key, left: b.spec.left, right: b.spec.right, namespace: b.metadata.namespace ?? '' },
    axes: {
      left: (e) => ({ type: e.left, namespace: e.namespace }),
      right: (e) => ({ type: e.right, namespace: e.namespace, name: e.right.name }),
    },
    kindsByVersion,
  });
}

const deployment = { apiVersion: 'apps/v1', kind: 'Deployment' };
const keys = (entries: Entry[]): string[] => entries.map((e) => e.key);

describe('BindingIndex', () => {
  it('finds entries per axis by group, kind and namespace (and name where refs have one), sorted by name', () => {
    const i = index();
    i.upsert(pair('b', deployment));
    i.upsert(pair('a', { apiVersion: 'apps/v1beta2', kind: 'Deployment' }));
    i.upsert(pair('c', deployment, 'other'));
    i.upsert(pair('d', deployment, 'db', 'elsewhere'));
    i.upsert(pair('x', { apiVersion: 'apps/v1', kind: 'Invalid' }));
    assert.deepEqual(keys(i.lookup('left', 'apps', 'Deployment', 'default')), [
      'default/a',
      'default/b',
      'default/c',
    ]);
    assert.deepEqual(keys(i.lookup('right', '', 'Secret', 'default', 'db')), ['default/a', 'default/b']);
    assert.deepEqual(i.lookup('left', 'apps', 'StatefulSet', 'default'), []);
    assert.equal(i.has({ namespace: 'default', name: 'a' }), true);
    assert.equal(i.has({ namespace: 'default', name: 'x' }), false, 'an entry-less binding is left out');
    // Versions of one kind are the same objects unless asked otherwise: the first one named stands for all.
    assert.deepEqual(i.types('left'), [deployment]);
    const byVersion = index(true);
    byVersion.upsert(pair('b', deployment));
    byVersion.upsert(pair('a', { apiVersion: 'apps/v1beta2', kind: 'Deployment' }));
    assert.deepEqual(
      byVersion.types('left').map((t) => t.apiVersion),
      ['apps/v1', 'apps/v1beta2'],
    );
  });

  it('moves an entry on update, drops it on removal or when it no longer makes an entry', () => {
    const i = index();
    const a = pair('a', deployment);
    i.upsert(a);
    const view = i.lookup('left', 'apps', 'Deployment', 'default');
    view.pop();
    assert.equal(i.lookup('left', 'apps', 'Deployment', 'default').length, 1, 'callers get a copy');
    i.upsert({ ...a, spec: { ...a.spec, left: { apiVersion: 'batch/v1', kind: 'Job' } } });
    assert.deepEqual(i.lookup('left', 'apps', 'Deployment', 'default'), []);
    assert.deepEqual(keys(i.lookup('left', 'batch', 'Job', 'default')), ['default/a']);
    i.upsert({ ...a, spec: { ...a.spec, left: { apiVersion: 'batch/v1', kind: 'Invalid' } } });
    assert.deepEqual(i.lookup('left', 'batch', 'Job', 'default'), []);
    assert.deepEqual(i.types('left'), []);
    i.upsert(a);
    i.remove(a);
    assert.deepEqual(i.types('right'), []);
    assert.equal(i.cachedViews, 0);
  });

  it('follows an informer, tombstones included, and is synced when it is', async () => {
    const i = index();
    const handlers: Array<EventHandler<Pair>> = [];
    let synced = false;
    i.attach({
      addEventHandler: (h) => handlers.push(h),
      hasSynced: () => synced,
      waitForSync: () => Promise.resolve(),
    });
    assert.equal(i.hasSynced(), false);
    synced = true;
    assert.equal(i.hasSynced(), true);
    await i.waitForSync();
    const a = pair('a', deployment);
    handlers[0]?.onAdd?.(a, false);
    assert.equal(i.has({ namespace: 'default', name: 'a' }), true);
    handlers[0]?.onDelete?.({ key: 'default/a', obj: a });
    assert.equal(i.has({ namespace: 'default', name: 'a' }), false);
  });
});
