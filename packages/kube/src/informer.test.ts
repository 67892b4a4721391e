import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KubeClient } from './client.ts';
import { Indexer, SharedInformer, SharedInformerFactory, isTombstone } from './informer.ts';
import { StringInterner } from './string-interner.ts';
import { KubeConfig } from './kubeconfig.ts';
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
function informer(
  onError?: (err: unknown) => void,
  transform?: (o: KubeObject) => KubeObject,
): SharedInformer {
  return new SharedInformer({
    client: offlineClient(),
    type: { apiVersion: 'v1', kind: 'ConfigMap' },
    indexers: { app: (o) => (o.metadata.labels?.['app'] ? [o.metadata.labels['app']] : []) },
    ...(onError ? { onError } : {}),
    ...(transform ? { transform } : {}),
  });
}

function offlineClient(): KubeClient {
  const kubeConfig = new KubeConfig({
    clusters: [{ name: 'c', cluster: { server: 'https://127.0.0.1:1' } }],
    users: [{ name: 'u', user: {} }],
    contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
    'current-context': 'x',
  });
  return new KubeClient({ kubeConfig });
}

/** Keeps only the identity: what a transform that drops everything else leaves. */
const identityOnly = (o: KubeObject): KubeObject => ({
  ...(o.apiVersion !== undefined && { apiVersion: o.apiVersion }),
  ...(o.kind !== undefined && { kind: o.kind }),
  metadata: {
    ...(o.metadata.name !== undefined && { name: o.metadata.name }),
    ...(o.metadata.namespace !== undefined && { namespace: o.metadata.namespace }),
    ...(o.metadata.resourceVersion !== undefined && { resourceVersion: o.metadata.resourceVersion }),
  },
});

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

  it('transforms every object before caching it and before any handler sees it', () => {
    const inf = informer(undefined, identityOnly);
    const seen: KubeObject[] = [];
    inf.addEventHandler({
      onAdd: (o) => seen.push(o),
      onUpdate: (_a, b) => seen.push(b),
      onDelete: (o) => seen.push(isTombstone(o) ? o.obj : o),
    });
    const secretish = (rv: string): KubeObject => ({
      ...cm('a', rv, { app: 'web' }),
      metadata: {
        name: 'a',
        namespace: 'default',
        resourceVersion: rv,
        annotations: { big: 'x'.repeat(100) },
      },
    });
    inf.replace([secretish('1')], '1');
    inf.add(secretish('2'));
    inf.update(secretish('3'));
    inf.delete(secretish('4'));
    inf.replace([secretish('5')], '5');
    inf.replace([], '6');
    assert.equal(seen.length, 6);
    for (const o of seen)
      assert.deepEqual(Object.keys(o.metadata).sort(), ['name', 'namespace', 'resourceVersion']);
  });
});

describe('SharedInformerFactory', () => {
  it("applies a type's transform, else the default, and refuses one set after the informer exists", () => {
    const stamp =
      (label: string) =>
      (o: KubeObject): KubeObject => ({
        ...o,
        metadata: { ...o.metadata, labels: { by: label } },
      });
    const factory = new SharedInformerFactory({ client: offlineClient(), transform: stamp('default') });
    const secretType = { apiVersion: 'v1', kind: 'Secret' };
    factory.setTransform(secretType, stamp('secret'));
    const secrets = factory.informerFor({ type: secretType, metadataOnly: true });
    const configMaps = factory.informerFor({ type: { apiVersion: 'v1', kind: 'ConfigMap' } });
    secrets.replace([{ ...cm('s', '1'), kind: 'PartialObjectMetadata' }], '1');
    configMaps.replace([cm('c', '1')], '1');
    assert.deepEqual(secrets.lister.get('s', 'default')?.metadata.labels, { by: 'secret' });
    assert.deepEqual(configMaps.lister.get('c', 'default')?.metadata.labels, { by: 'default' });
    assert.throws(
      () => factory.setTransform({ apiVersion: 'v1', kind: 'ConfigMap' }, identityOnly),
      /the ConfigMap informer already exists/,
    );
  });

  it('interns the string values of every cache after its own transform, or the default', () => {
    const interner = new StringInterner();
    const factory = new SharedInformerFactory({
      client: offlineClient(),
      transform: (o) => o,
      interner,
    });
    const secretType = { apiVersion: 'v1', kind: 'Secret' };
    factory.setTransform(secretType, identityOnly);
    const secrets = factory.informerFor({ type: secretType, metadataOnly: true });
    secrets.replace([{ ...cm('a-secret-name', '1'), kind: 'PartialObjectMetadata' }], '1');
    assert.ok(interner.size > 0, 'a cache with a transform of its own is interned too');
    const before = interner.size;
    const configMaps = factory.informerFor({ type: { apiVersion: 'v1', kind: 'ConfigMap' } });
    configMaps.replace([cm('a-configmap-name', '1', { app: 'a-label-value' })], '1');
    assert.ok(interner.size > before, 'the default transform is followed by interning');
  });
});
