import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { after, before, describe, it } from 'node:test';
import { ControlPlane, TcpProxy, eventually, skipE2E } from '@bindery/controlplane';
import { KubeClient } from './client.ts';
import { KubeConfig } from './kubeconfig.ts';
import { SharedInformer, SharedInformerFactory, isTombstone } from './informer.ts';
import type { EventHandler, SharedInformerOptions } from './informer.ts';
import type { KubeObject } from './object.ts';
import { stripManagedFields } from './transform.ts';

const ns = 'informer-e2e';

/** Records every handler call as a line, for assertions on order and content. */
function recorder(): { lines: string[]; handler: EventHandler<KubeObject> } {
  const lines: string[] = [];
  return {
    lines,
    handler: {
      onAdd: (o) => lines.push(`add ${o.metadata.name}`),
      onUpdate: (a, b) => {
        if (a.metadata.resourceVersion !== b.metadata.resourceVersion)
          lines.push(`update ${b.metadata.name}`);
      },
      onDelete: (o) => lines.push(isTombstone(o) ? `tombstone ${o.key}` : `delete ${o.metadata.name}`),
    },
  };
}

function throughProxy(kubeConfig: KubeConfig, port: number): KubeConfig {
  const proxied = KubeConfig.fromString(kubeConfig.toYAML());
  for (const c of proxied.clusters) c.cluster.server = `https://127.0.0.1:${port}`;
  return proxied;
}

describe('SharedInformer against a real API server', { skip: skipE2E }, () => {
  let cp: ControlPlane;
  let admin: KubeClient;
  const stop = new AbortController();

  before(async () => {
    // PodTemplates skip the watch cache, so their watches hit etcd and a
    // compaction yields 410 Gone deterministically.
    cp = new ControlPlane({ apiServerFlags: { 'watch-cache-sizes': 'podtemplates#0' } });
    await cp.start();
    admin = new KubeClient({ kubeConfig: cp.kubeConfig() });
    await admin.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  });

  after(async () => {
    stop.abort();
    await admin?.close();
    await cp?.stop();
  });

  const cm = (name: string, data: Record<string, string> = {}): KubeObject => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: ns, labels: { suite: 'informer' } },
    data,
  });
  const cmRef = (name: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name });

  function start<T extends KubeObject>(
    options: Omit<SharedInformerOptions<T>, 'client'> & { client?: KubeClient; signal?: AbortSignal },
  ): SharedInformer<T> {
    const { signal, ...rest } = options;
    const informer = new SharedInformer<T>({
      client: admin,
      initialBackoffMs: 100,
      maxBackoffMs: 1_000,
      namespace: ns,
      ...rest,
    });
    void informer.run(signal ?? stop.signal);
    return informer;
  }

  it('syncs, then delivers adds, updates and deletes from the watch', async () => {
    await admin.create(cm('pre'));
    const rec = recorder();
    const informer = start({
      type: { apiVersion: 'v1', kind: 'ConfigMap' },
      labelSelector: 'suite=informer',
    });
    informer.addEventHandler(rec.handler);
    await informer.waitForSync(AbortSignal.timeout(30_000));
    assert.deepEqual(rec.lines, ['add pre']);

    await admin.create(cm('live'));
    await admin.patch(cmRef('live'), { data: { v: '2' } }, { type: 'merge' });
    await admin.delete(cmRef('pre'));
    await eventually(() => assert.deepEqual(rec.lines, ['add pre', 'add live', 'update live', 'delete pre']));
    assert.deepEqual(
      informer.lister.list({ namespace: ns }).map((o) => o.metadata.name),
      ['live'],
    );
    assert.equal(informer.state.phase, 'watching');
  });

  it('keeps what the transform returns, a list page at a time and for every watch event', async () => {
    const suite = 'transform';
    const label = (o: KubeObject): KubeObject => ({ ...o, metadata: { ...o.metadata, labels: { suite } } });
    for (const name of ['tf-a', 'tf-b', 'tf-c', 'tf-d', 'tf-e']) await admin.create(label(cm(name)));
    // Per call: how many list pages had been requested by then, to see pages transformed as they come.
    let pages = 0;
    const countPages = (message: unknown): void => {
      const { path } = (message as { request: { path: string } }).request;
      if (path.includes(`labelSelector=suite%3D${suite}`) && !path.includes('watch=')) pages++;
    };
    subscribe('http.client.request.start', countPages);
    const calls: number[] = [];
    const seen: KubeObject[] = [];
    const informer = start({
      type: { apiVersion: 'v1', kind: 'ConfigMap' },
      labelSelector: `suite=${suite}`,
      pageSize: 2,
      transform: (obj) => {
        calls.push(informer.hasSynced() ? -1 : pages);
        return stripManagedFields(obj);
      },
    });
    informer.addEventHandler({
      onAdd: (o) => seen.push(o),
      onUpdate: (_, o) => seen.push(o),
      onDelete: (o) => seen.push(isTombstone(o) ? o.obj : o),
    });
    await informer
      .waitForSync(AbortSignal.timeout(30_000))
      .finally(() => unsubscribe('http.client.request.start', countPages));
    // Three pages of two, each transformed before the next was asked for.
    assert.deepEqual(calls, [1, 1, 2, 2, 3]);

    await admin.patch(cmRef('tf-a'), { data: { v: '2' } }, { type: 'merge' });
    await admin.create(label(cm('tf-f')));
    await admin.delete(cmRef('tf-b'));
    await eventually(() => assert.equal(seen.length, 8));
    assert.deepEqual(calls.slice(5), [-1, -1, -1]);
    for (const o of [...seen, ...informer.indexer.values()]) {
      assert.equal(o.metadata.managedFields, undefined, `${o.metadata.name} kept its managedFields`);
      assert.ok(o.metadata.resourceVersion);
    }
    const raw = await admin.get(cmRef('tf-a'));
    assert.ok(Array.isArray(raw.metadata.managedFields), 'the API server did send managedFields');
    assert.deepEqual(informer.lister.get('tf-a', ns), stripManagedFields(raw));
  });

  it('survives an API server restart without missing an event', async () => {
    const rec = recorder();
    const informer = start({ type: { apiVersion: 'v1', kind: 'ConfigMap' }, labelSelector: 'suite=restart' });
    informer.addEventHandler(rec.handler);
    await informer.waitForSync(AbortSignal.timeout(30_000));
    const label = (o: KubeObject): KubeObject => ({
      ...o,
      metadata: { ...o.metadata, labels: { suite: 'restart' } },
    });

    await admin.create(label(cm('before-restart')));
    await eventually(() => assert.deepEqual(rec.lines, ['add before-restart']));
    const watchesBefore = informer.state.watches;

    await cp.restartApiServer();
    await admin.create(label(cm('after-restart')));
    await admin.patch(cmRef('before-restart'), { data: { v: '2' } }, { type: 'merge' });
    await eventually(() =>
      assert.deepEqual(rec.lines, ['add before-restart', 'add after-restart', 'update before-restart']),
    );
    assert.ok(informer.state.watches > watchesBefore, 'the watch was re-established');
    assert.equal(informer.lister.list().length, 2);
  });

  it('relists after 410 Gone from a compacted history, emitting deletes for what vanished', async () => {
    const proxy = new TcpProxy({ port: Number(new URL(cp.server).port) });
    await proxy.start();
    const viaProxy = new KubeClient({ kubeConfig: throughProxy(cp.kubeConfig(), proxy.port) });
    const stopThis = new AbortController();
    const pt = (name: string, image = 'i:1'): KubeObject => ({
      apiVersion: 'v1',
      kind: 'PodTemplate',
      metadata: { name, namespace: ns },
      template: { spec: { containers: [{ name: 'c', image }] } },
    });
    try {
      for (const name of ['pt-a', 'pt-b', 'pt-c']) await admin.create(pt(name));
      const rec = recorder();
      const errors: unknown[] = [];
      const informer = start({
        client: viaProxy,
        signal: stopThis.signal,
        type: { apiVersion: 'v1', kind: 'PodTemplate' },
        onError: (err) => errors.push(err),
      });
      informer.addEventHandler(rec.handler);
      await informer.waitForSync(AbortSignal.timeout(30_000));
      assert.equal(informer.lister.list().length, 3);

      // Cut the informer off; change things behind its back; compact the history.
      proxy.setMode('refuse', { cut: true });
      await admin.delete({ apiVersion: 'v1', kind: 'PodTemplate', namespace: ns, name: 'pt-b' });
      await admin.patch(
        { apiVersion: 'v1', kind: 'PodTemplate', namespace: ns, name: 'pt-a' },
        { metadata: { labels: { v: '2' } } },
        { type: 'merge' },
      );
      await admin.create(pt('pt-d'));
      await cp.compactEtcd();
      proxy.setMode('pass');

      await eventually(() =>
        assert.deepEqual(
          informer.lister
            .list()
            .map((o) => o.metadata.name)
            .sort(),
          ['pt-a', 'pt-c', 'pt-d'],
        ),
      );
      assert.deepEqual(rec.lines.slice(3).sort(), ['add pt-d', 'tombstone informer-e2e/pt-b', 'update pt-a']);
      assert.equal(informer.state.lists, 2, 'listed once at start and once after 410');
      assert.ok(
        errors.some((e) => e instanceof Error && /410|Gone|compacted|too old/i.test(e.message)),
        `a 410 was seen: ${errors.map(String).join('; ')}`,
      );
    } finally {
      stopThis.abort();
      await viaProxy.close();
      await proxy.stop();
    }
  });

  it('detects an idle watch and restarts it', async () => {
    const proxy = new TcpProxy({ port: Number(new URL(cp.server).port) });
    await proxy.start();
    const viaProxy = new KubeClient({ kubeConfig: throughProxy(cp.kubeConfig(), proxy.port) });
    const stopThis = new AbortController();
    try {
      const rec = recorder();
      const informer = start({
        client: viaProxy,
        signal: stopThis.signal,
        type: { apiVersion: 'v1', kind: 'ConfigMap' },
        labelSelector: 'suite=idle',
        idleTimeoutMs: 1_500,
      });
      informer.addEventHandler(rec.handler);
      await informer.waitForSync(AbortSignal.timeout(30_000));
      const watchesBefore = informer.state.watches;

      // The link goes silent: the watch stays open but nothing arrives.
      proxy.freezeAll();
      await admin.create({
        ...cm('while-frozen'),
        metadata: { name: 'while-frozen', namespace: ns, labels: { suite: 'idle' } },
      });
      await eventually(() => assert.deepEqual(rec.lines, ['add while-frozen']), 20_000);
      assert.ok(informer.state.watches > watchesBefore);
      assert.match(informer.state.lastError ?? '', /idle/);
    } finally {
      stopThis.abort();
      await viaProxy.close();
      await proxy.stop();
    }
  });

  it('shares one informer per type through the factory, metadata-only for Secrets', async () => {
    await admin.create({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'meta', namespace: ns },
      stringData: { token: 's3cr3t' },
    });
    const factory = new SharedInformerFactory({ client: admin, initialBackoffMs: 100 });
    const key = { type: { apiVersion: 'v1', kind: 'Secret' }, namespace: ns, metadataOnly: true };
    const a = factory.informerFor(key);
    assert.equal(factory.informerFor(key), a);
    factory.start(stop.signal);
    await factory.waitForCacheSync(AbortSignal.timeout(30_000));
    const secret = a.lister.get('meta', ns);
    assert.ok(secret);
    assert.equal(secret['data'], undefined);
    assert.equal(secret.kind, 'PartialObjectMetadata');
  });
});
