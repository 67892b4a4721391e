import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ServiceBinding } from '../apis/index.ts';
import { ServiceBindingIndex } from './binding-index.ts';

const binding = (name: string, workload: string): ServiceBinding => ({
  apiVersion: 'servicebinding.io/v1',
  kind: 'ServiceBinding',
  metadata: { namespace: 'default', name, uid: `uid-${name}` },
  spec: {
    service: { apiVersion: 'v1', kind: 'Secret', name: 'db' },
    workload: { apiVersion: 'apps/v1', kind: 'Deployment', name: workload },
  },
});

describe('ServiceBindingIndex', () => {
  it('answers by workload kind and namespace, sorted by name', () => {
    const index = new ServiceBindingIndex();
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
    const index = new ServiceBindingIndex();
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

describe('ServiceBindingIndex kinds', () => {
  it('signals a kind change only when a workload or service kind comes or goes, not on every update', () => {
    const index = new ServiceBindingIndex();
    let changes = 0;
    index.onKindsChanged(() => changes++);
    const a = binding('a', 'web');
    index.upsert(a);
    assert.equal(changes, 1, 'Deployment and Secret appear');
    // A status write of the only binding naming Deployments: the kinds stay as they were.
    index.upsert({ ...a, status: { observedGeneration: 2 } });
    index.upsert(binding('b', 'api'));
    assert.equal(changes, 1);
    index.upsert({ ...a, spec: { ...a.spec, workload: { apiVersion: 'batch/v1', kind: 'Job', name: 'm' } } });
    assert.equal(changes, 2, 'Job appears');
    assert.deepEqual(
      index.workloadTypes().map((t) => t.kind),
      ['Deployment', 'Job'],
    );
    index.remove(a);
    assert.equal(changes, 3, 'Job goes');
    index.remove(binding('b', 'api'));
    assert.equal(changes, 4);
    assert.deepEqual(index.workloadTypes(), []);
    assert.deepEqual(index.serviceTypes(), []);
  });
});
