import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeClient } from './client.ts';
import { Indexer, SharedInformer, isTombstone } from './informer.ts';
import type { KubeObject } from './object.ts';

function cm(
  name: string,
  rv: string,
  labels: Record<string, string> = {},
  namespace = 'default',
): KubeObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace, resourceVersion: rv, labels } };
}

// The informer's sink methods are driven directly here; the Reflector that feeds
// them against a real API server is covered by informer.e2e.test.ts.
function informer(onError?: (err: unknown) => void): SharedInformer {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: 'c', server: 'https://127.0.0.1:1' }],
    users: [{ name: 'u' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return new SharedInformer({
    client: new KubeClient({ kubeConfig }),
    type: { apiVersion: 'v1', kind: 'ConfigMap' },
    indexers: { app: (o) => (o.metadata.labels?.['app'] ? [o.metadata.labels['app']] : []) },
    ...(onError ? { onError } : {}),
  });
}

describe('Indexer', () => {
  it('files objects by namespace and custom indexes, and re-files on change', () => {
    const idx = new Indexer<KubeObject>({ app: (o) => [o.metadata.labels?.['app'] ?? ''] });
    idx.set(cm('a', '1', { app: 'web' }));
    idx.set(cm('b', '1', { app: 'web' }, 'other'));
    assert.deepEqual(idx.indexKeys('app', 'web').sort(), ['default/a', 'other/b']);
    assert.deepEqual(idx.indexKeys('namespace', 'other'), ['other/b']);
    idx.set(cm('a', '2', { app: 'api' }));
    assert.deepEqual(idx.indexKeys('app', 'web'), ['other/b']);
    assert.deepEqual(idx.indexKeys('app', 'api'), ['default/a']);
    idx.delete('other/b');
    assert.deepEqual(idx.indexKeys('app', 'web'), []);
    assert.throws(() => idx.indexKeys('nope', 'x'), /no indexer named "nope"/);
  });
});

describe('SharedInformer', () => {
  it('dispatches adds, updates and deletes, and a relist emits tombstones for what vanished', () => {
    const inf = informer();
    const seen: string[] = [];
    inf.addEventHandler({
      onAdd: (o, initial) => seen.push(`add ${o.metadata.name} ${initial}`),
      onUpdate: (a, b) => seen.push(`update ${a.metadata.resourceVersion}->${b.metadata.resourceVersion}`),
      onDelete: (o) => seen.push(isTombstone(o) ? `tombstone ${o.key}` : `delete ${o.metadata.name}`),
    });
    inf.replace([cm('a', '1'), cm('b', '1')], '10');
    inf.add(cm('c', '11'));
    inf.update(cm('a', '12'));
    inf.delete(cm('c', '13'));
    // The watch was down: b was deleted and a changed meanwhile; the relist says so.
    inf.replace([cm('a', '14')], '20');
    assert.deepEqual(seen, [
      'add a true',
      'add b true',
      'add c false',
      'update 1->12',
      'delete c',
      'update 12->14',
      'tombstone default/b',
    ]);
    assert.deepEqual(
      inf.lister.list().map((o) => o.metadata.name),
      ['a'],
    );
  });

  it('replays the cache to a handler added late, and lists by namespace, label and index', () => {
    const inf = informer();
    inf.replace([cm('a', '1', { app: 'web' }), cm('b', '1', { app: 'api' }, 'other')], '1');
    const added: string[] = [];
    const reg = inf.addEventHandler({ onAdd: (o, initial) => added.push(`${o.metadata.name} ${initial}`) });
    assert.deepEqual(added.sort(), ['a true', 'b true']);
    assert.equal(reg.hasSynced(), true);
    assert.deepEqual(
      inf.lister.list({ namespace: 'other' }).map((o) => o.metadata.name),
      ['b'],
    );
    assert.deepEqual(
      inf.lister.list({ labelSelector: 'app=web' }).map((o) => o.metadata.name),
      ['a'],
    );
    assert.deepEqual(
      inf.lister.byIndex('app', 'api').map((o) => o.metadata.name),
      ['b'],
    );
    assert.equal(inf.lister.get('b', 'other')?.metadata.resourceVersion, '1');
  });

  it('a throwing handler is reported and does not stop the others', () => {
    const errors: unknown[] = [];
    const ok: string[] = [];
    const inf = informer((err) => errors.push(err));
    inf.addEventHandler({
      onAdd: () => {
        throw new Error('boom');
      },
    });
    inf.addEventHandler({ onAdd: (o) => ok.push(o.metadata.name ?? '') });
    inf.replace([cm('a', '1')], '1');
    assert.equal(errors.length, 1);
    assert.deepEqual(ok, ['a']);
  });

  it('does not report an unchanged object as updated on relist', () => {
    const inf = informer();
    const updates: Array<[KubeObject, KubeObject]> = [];
    inf.addEventHandler({ onUpdate: (a, b) => updates.push([a, b]) });
    inf.replace([cm('a', '1')], '1');
    inf.replace([cm('a', '1')], '2');
    assert.equal(updates.length, 0);
  });
});
