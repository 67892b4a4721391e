import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KubeClient, KubeConfig, SharedInformerFactory } from '@bindery/kube';
import type { InformerKey, KubeObject } from '@bindery/kube';
import { OnDemandInformers } from './on-demand-informers.ts';

// The factory is never started: these tests are about which informers exist and who holds them.
function factory(): SharedInformerFactory {
  const kubeConfig = new KubeConfig({
    clusters: [{ name: 'c', cluster: { server: 'https://127.0.0.1:1' } }],
    users: [{ name: 'u', user: {} }],
    contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
    'current-context': 'x',
  });
  return new SharedInformerFactory({ client: new KubeClient({ kubeConfig }) });
}

const runners: InformerKey = { type: { apiVersion: 'example.com/v1', kind: 'Runner' } };
const gizmos: InformerKey = { type: { apiVersion: 'example.com/v1', kind: 'Gizmo' } };
const services: InformerKey = { type: { apiVersion: 'example.com/v1', kind: 'Backend' }, metadataOnly: true };

describe('OnDemandInformers', () => {
  it('starts an informer for its first user and stops it after its last', () => {
    const informers = factory();
    const handled: string[] = [];
    const onDemand = new OnDemandInformers({
      informers,
      handler: (key) => ({
        onAdd: (obj: KubeObject) => handled.push(`${key.type.kind} ${obj.metadata.name ?? ''}`),
      }),
    });
    onDemand.use('ns/a', 'workload', runners);
    onDemand.use('ns/b', 'workload', runners);
    assert.equal(informers.has(runners), true);
    assert.equal(onDemand.users(runners), 2);

    // The handler is the one given for the key.
    informers
      .informerFor(runners)
      .add({ apiVersion: 'example.com/v1', kind: 'Runner', metadata: { name: 'r' } });
    assert.deepEqual(handled, ['Runner r']);

    onDemand.release('ns/a');
    assert.equal(informers.has(runners), true, 'still used by ns/b');
    onDemand.release('ns/b', 'workload');
    assert.equal(informers.has(runners), false);
    assert.equal(onDemand.users(runners), 0);
    assert.deepEqual(onDemand.keys(), []);
  });

  it('a user moving to another kind lets go of the first; slots are separate', () => {
    const informers = factory();
    const onDemand = new OnDemandInformers({ informers, handler: () => ({}) });
    onDemand.use('ns/a', 'workload', runners);
    onDemand.use('ns/a', 'service', services);
    onDemand.use('ns/a', 'workload', gizmos);
    assert.equal(informers.has(runners), false);
    assert.equal(informers.has(gizmos), true);
    assert.equal(informers.has(services), true);
    // Using the same key again holds it once.
    onDemand.use('ns/a', 'workload', gizmos);
    assert.equal(onDemand.users(gizmos), 1);
    onDemand.release('ns/a');
    assert.deepEqual(onDemand.keys(), []);
    assert.equal(informers.has(gizmos), false);
    assert.equal(informers.has(services), false);
    // Releasing what is not held is a no-op.
    onDemand.release('ns/unknown');
  });

  it('an informer it did not start keeps running: only its handler is removed', () => {
    const informers = factory();
    const existing = informers.informerFor(runners);
    let calls = 0;
    const onDemand = new OnDemandInformers({ informers, handler: () => ({ onAdd: () => calls++ }) });
    onDemand.use('ns/a', 'workload', runners);
    existing.add({ apiVersion: 'example.com/v1', kind: 'Runner', metadata: { name: 'one' } });
    onDemand.release('ns/a');
    assert.equal(informers.has(runners), true);
    existing.add({ apiVersion: 'example.com/v1', kind: 'Runner', metadata: { name: 'two' } });
    assert.equal(calls, 1);
  });
});
