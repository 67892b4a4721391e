import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ServiceBinding } from '../apis/index.ts';
import { BindingIndex } from './binding-index.ts';

const binding = (name: string, workload: string): ServiceBinding => ({
  apiVersion: 'servicebinding.io/v1',
  kind: 'ServiceBinding',
  metadata: { namespace: 'default', name, uid: `uid-${name}` },
  spec: {
    service: { apiVersion: 'v1', kind: 'Secret', name: 'db' },
    workload: { apiVersion: 'apps/v1', kind: 'Deployment', name: workload },
  },
});

describe('BindingIndex', () => {
  it('answers by workload kind and namespace, sorted by name', () => {
    const index = new BindingIndex();
    index.upsert(binding('b', 'web'));
    index.upsert(binding('a', 'api'));
    assert.deepEqual(
      index.forWorkload('apps', 'Deployment', 'default').map((e) => e.name),
      ['a', 'b'],
    );
    assert.deepEqual(index.forWorkload('apps', 'Deployment', 'other'), []);
    assert.deepEqual(
      index.forService('', 'Secret', 'default', 'db').map((e) => e.name),
      ['a', 'b'],
    );
  });

  it('caches views only for what bindings name, however many kinds and namespaces requests name', () => {
    const index = new BindingIndex();
    index.upsert(binding('a', 'web'));
    for (let i = 0; i < 10_000; i++) {
      assert.deepEqual(index.forWorkload('example.com', `Kind${i}`, `ns-${i}`), []);
      assert.deepEqual(index.forService('', 'Secret', `ns-${i}`, `s${i}`), []);
    }
    index.forWorkload('apps', 'Deployment', 'default');
    index.forService('', 'Secret', 'default', 'db');
    assert.equal(index.cachedViews, 2);
  });
});
