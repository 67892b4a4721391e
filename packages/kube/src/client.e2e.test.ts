import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ControlPlane, TcpProxy, skipE2E } from '@bindery/controlplane';
import { KubeClient, retryOnConflict } from './client.ts';
import { Discovery, NoKindMatchError } from './discovery.ts';
import { StatusError, isConflict, isNotFound } from './errors.ts';
import { KubeConfig } from './kubeconfig.ts';
import type { KubeObject } from './object.ts';

const ns = 'client-e2e';

describe('KubeClient against a real API server', { skip: skipE2E }, () => {
  let cp: ControlPlane;
  let client: KubeClient;

  before(async () => {
    cp = new ControlPlane();
    await cp.start();
    client = new KubeClient({ kubeConfig: cp.kubeConfig() });
    await client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  });

  after(async () => {
    await client?.close();
    await cp?.stop();
  });

  const configMap = (name: string, data: Record<string, string> = {}): KubeObject => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: ns },
    data,
  });

  it('creates, reads, updates with optimistic concurrency, and deletes', async () => {
    const created = await client.create(configMap('crud', { a: '1' }));
    assert.ok(created.metadata.uid);
    const got = await client.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'crud' });
    assert.deepEqual(got['data'], { a: '1' });

    const updated = await client.update({ ...got, data: { a: '2' } });
    assert.notEqual(updated.metadata.resourceVersion, got.metadata.resourceVersion);

    // The stale copy carries the old resourceVersion: 409, never a blind overwrite.
    const stale = await client.update({ ...got, data: { a: '3' } }).catch((e: unknown) => e);
    assert.ok(isConflict(stale), `expected Conflict, got ${String(stale)}`);
    assert.equal((stale as StatusError).code, 409);

    // retryOnConflict reads afresh each time and wins.
    let attempts = 0;
    await retryOnConflict(async () => {
      attempts++;
      const fresh =
        attempts === 1
          ? got
          : await client.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'crud' });
      return client.update({ ...fresh, data: { a: '4' } });
    });
    assert.equal(attempts, 2);

    const wrongUid = await client
      .delete(
        { apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'crud' },
        { preconditions: { uid: 'not-the-uid' } },
      )
      .catch((e: unknown) => e);
    assert.ok(isConflict(wrongUid), 'a delete precondition that does not hold is a Conflict');

    await client.delete(
      { apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'crud' },
      { preconditions: { uid: created.metadata.uid }, propagationPolicy: 'Background' },
    );
    const gone = await client
      .get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'crud' })
      .catch((e: unknown) => e);
    assert.ok(isNotFound(gone));
    assert.match(
      (gone as Error).message,
      /GET \/api\/v1\/namespaces\/client-e2e\/configmaps\/crud: .*not found \(NotFound\)/,
    );
  });

  it('rejects an invalid object with the field named in the causes', async () => {
    const err = await client.create(configMap('Not_Valid')).catch((e: unknown) => e);
    assert.ok(err instanceof StatusError);
    assert.equal(err.reason, 'Invalid');
    assert.ok(
      err.causes.some((c) => c.field === 'metadata.name'),
      JSON.stringify(err.causes),
    );
  });

  it('applies JSON, merge, strategic-merge and server-side apply patches', async () => {
    const deployment: KubeObject = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'patched', namespace: ns, labels: { app: 'patched' } },
      spec: {
        selector: { matchLabels: { app: 'patched' } },
        template: {
          metadata: { labels: { app: 'patched' } },
          spec: {
            containers: [
              { name: 'app', image: 'app:1' },
              { name: 'sidecar', image: 'side:1' },
            ],
          },
        },
      },
    };
    await client.create(deployment);
    const ref = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: ns, name: 'patched' };
    type Containers = {
      spec: { template: { spec: { containers: Array<{ name: string; image: string }> } } };
    };

    await client.patch(ref, [{ op: 'add', path: '/metadata/labels/json', value: 'yes' }], { type: 'json' });
    await client.patch(ref, { metadata: { annotations: { merge: 'yes' } } }, { type: 'merge' });
    // Strategic merge merges containers by name; a merge patch would replace the list.
    const sm = await client.patch<KubeObject & Containers>(
      ref,
      { spec: { template: { spec: { containers: [{ name: 'sidecar', image: 'side:2' }] } } } },
      { type: 'strategic-merge' },
    );
    assert.deepEqual(
      sm.spec.template.spec.containers.map((c) => `${c.name}=${c.image}`),
      ['app=app:1', 'sidecar=side:2'],
    );
    assert.equal(sm.metadata.labels?.['json'], 'yes');
    assert.equal(sm.metadata.annotations?.['merge'], 'yes');

    const applied = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'patched', namespace: ns, labels: { owner: 'a' } },
    };
    await client.apply(applied, { fieldManager: 'manager-a' });
    const conflict = await client
      .apply(
        { ...applied, metadata: { ...applied.metadata, labels: { owner: 'b' } } },
        { fieldManager: 'manager-b' },
      )
      .catch((e: unknown) => e);
    assert.ok(isConflict(conflict), 'a field owned by another manager conflicts');
    const forced = await client.apply(
      { ...applied, metadata: { ...applied.metadata, labels: { owner: 'b' } } },
      { fieldManager: 'manager-b', force: true },
    );
    assert.equal(forced.metadata.labels?.['owner'], 'b');
    const managers = (forced.metadata['managedFields'] as Array<{ manager: string }>).map((m) => m.manager);
    assert.ok(managers.includes('manager-b'));
  });

  it('writes status only through the status subresource', async () => {
    const created = await client.create({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'status', namespace: ns },
      spec: {
        selector: { matchLabels: { app: 's' } },
        template: { metadata: { labels: { app: 's' } }, spec: { containers: [{ name: 'c', image: 'i' }] } },
      },
    });
    // The main resource ignores status…
    const viaMain = await client.update({ ...created, status: { observedGeneration: 42 } });
    assert.equal(
      (viaMain['status'] as { observedGeneration?: number } | undefined)?.observedGeneration,
      undefined,
    );
    // …and /status ignores everything else.
    const viaStatus = await client.updateStatus({
      ...viaMain,
      metadata: { ...viaMain.metadata, labels: { ignored: 'yes' } },
      status: { observedGeneration: 42 },
    });
    assert.equal(viaStatus['status'].observedGeneration, 42);
    assert.equal(viaStatus.metadata.labels?.['ignored'], undefined);
  });

  it('dry-run persists nothing', async () => {
    const dry = await client.create(configMap('dry'), { dryRun: true });
    assert.equal(dry.metadata.name, 'dry');
    const err = await client
      .get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'dry' })
      .catch((e: unknown) => e);
    assert.ok(isNotFound(err));
  });

  it('pages through 2,000 objects with continue tokens', async () => {
    const listNs = 'paging';
    await client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: listNs } });
    const names = Array.from({ length: 2000 }, (_, i) => `cm-${String(i).padStart(4, '0')}`);
    for (let i = 0; i < names.length; i += 50) {
      await Promise.all(
        names
          .slice(i, i + 50)
          .map((name) =>
            client.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: listNs } }),
          ),
      );
    }
    const first = await client.list(
      { apiVersion: 'v1', kind: 'ConfigMap' },
      { namespace: listNs, limit: 300 },
    );
    assert.equal(first.items.length, 300);
    assert.ok(first.metadata.continue, 'a continue token for the next page');

    const all = await client.listAll(
      { apiVersion: 'v1', kind: 'ConfigMap' },
      { namespace: listNs, limit: 300 },
    );
    const listed = all.items.map((i) => i.metadata.name).filter((n) => n?.startsWith('cm-'));
    assert.deepEqual(listed, names);
    assert.equal(all.metadata.continue, undefined);
  });

  it('lists Secrets as metadata only: no data ever crosses the wire', async () => {
    await client.create({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'creds', namespace: ns, labels: { role: 'db' } },
      stringData: { password: 'hunter2' },
    });
    const list = await client.list(
      { apiVersion: 'v1', kind: 'Secret' },
      { namespace: ns, metadataOnly: true },
    );
    assert.equal(list.kind, 'PartialObjectMetadataList');
    const creds = list.items.find((s) => s.metadata.name === 'creds');
    assert.ok(creds);
    assert.equal(creds.metadata.labels?.['role'], 'db');
    assert.equal(creds['data'], undefined);
    assert.equal(JSON.stringify(list).includes(Buffer.from('hunter2').toString('base64')), false);

    const one = await client.get(
      { apiVersion: 'v1', kind: 'Secret', namespace: ns, name: 'creds' },
      { metadataOnly: true },
    );
    assert.equal(one.kind, 'PartialObjectMetadata');
    assert.equal(one['data'], undefined);
  });

  it('an empty metadata-only list has items [], not null', async () => {
    const empty = await client.list(
      { apiVersion: 'v1', kind: 'Secret' },
      { namespace: 'no-such-namespace', metadataOnly: true },
    );
    assert.deepEqual(empty.items, []);
    const all = await client.listAll(
      { apiVersion: 'v1', kind: 'Secret' },
      { namespace: 'no-such-namespace', metadataOnly: true },
    );
    assert.deepEqual(all.items, []);
  });

  it('gives a restricted user a Forbidden error value', async () => {
    const alice = await cp.addUser({ name: 'alice', groups: ['developers'] });
    const kubeConfig = KubeConfig.fromString(alice.kubeconfig);
    const restricted = new KubeClient({ kubeConfig });
    try {
      const err = await restricted
        .list({ apiVersion: 'v1', kind: 'Secret' }, { namespace: ns })
        .catch((e: unknown) => e);
      assert.ok(err instanceof StatusError, String(err));
      assert.equal(err.reason, 'Forbidden');
      assert.equal(err.code, 403);
      assert.match(err.message, /User "alice" cannot list resource "secrets"/);
    } finally {
      await restricted.close();
    }
  });

  it('finds kinds that appear at run time, and says clearly when a kind does not exist', async () => {
    const missing = await client
      .get({ apiVersion: 'example.dev/v1', kind: 'Widget', name: 'w', namespace: ns })
      .catch((e: unknown) => e);
    assert.ok(missing instanceof NoKindMatchError);
    assert.match(missing.message, /no kind "Widget" is served in example\.dev\/v1/);

    await cp.installCRDs([
      {
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        metadata: { name: 'widgets.example.dev' },
        spec: {
          group: 'example.dev',
          scope: 'Namespaced',
          names: { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
          versions: [
            {
              name: 'v1',
              served: true,
              storage: true,
              schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
            },
          ],
        },
      },
    ]);
    // The same client, whose discovery has already seen example.dev/v1 empty.
    const widget = await client.create({
      apiVersion: 'example.dev/v1',
      kind: 'Widget',
      metadata: { name: 'w', namespace: ns },
      size: 3,
    });
    assert.equal(widget['size'], 3);
  });

  it('discovery remembers at most maxGroupVersions group-versions, and still finds what it forgot', async () => {
    const discovery = new Discovery(client.transport, { maxGroupVersions: 4 });
    // Bindings may name any apiVersion; an unserved one is remembered as empty.
    for (let i = 0; i < 20; i++)
      assert.deepEqual(await discovery.resources(`nothing${i}.example.dev/v1`), []);
    assert.equal(discovery.cachedGroupVersions, 4);
    const deployments = await discovery.resourceFor({ apiVersion: 'apps/v1', kind: 'Deployment' });
    assert.equal(deployments.resource, 'deployments');
    for (let i = 20; i < 30; i++) await discovery.resources(`nothing${i}.example.dev/v1`);
    assert.equal(discovery.cachedGroupVersions, 4);
    assert.equal(
      (await discovery.resourceFor({ apiVersion: 'apps/v1', kind: 'Deployment' })).kind,
      'Deployment',
    );
  });

  it('recovers from a connection that went silent: an aborted request does not strand the next', async () => {
    const proxy = new TcpProxy({ port: Number(new URL(cp.server).port) });
    await proxy.start();
    const kubeConfig = cp.kubeConfig();
    for (const c of kubeConfig.clusters) c.cluster.server = `https://127.0.0.1:${proxy.port}`;
    const viaProxy = new KubeClient({ kubeConfig });
    try {
      await viaProxy.request({ method: 'GET', path: '/version' });
      proxy.freezeAll();
      // Requests may land on a frozen connection and time out; one must get through
      // on a fresh connection within a few attempts. Over HTTP/2 all would hang.
      const outcomes: string[] = [];
      for (let attempt = 0; attempt < 5 && outcomes.at(-1) !== 'ok'; attempt++) {
        outcomes.push(
          await viaProxy
            .request({ method: 'GET', path: '/version', signal: AbortSignal.timeout(500) })
            .then(() => 'ok')
            .catch((e: unknown) => (e instanceof Error ? e.name : String(e))),
        );
      }
      assert.equal(outcomes.at(-1), 'ok', outcomes.join(', '));
      assert.ok(
        outcomes.slice(0, -1).every((o) => o === 'TimeoutError'),
        outcomes.join(', '),
      );
    } finally {
      await viaProxy.close();
      await proxy.stop();
    }
  });
});
