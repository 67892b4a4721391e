import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StatusError, isAlreadyExists, isConflict, isInvalid, isNotFound } from '@bindery/kube';
import type { KubeObject, ObjectRef } from '@bindery/kube';
import { conflictError, forbiddenError, pluralOf, qualifiedResource } from './errors.ts';
import { induceFailure } from './actions.ts';
import { FakeClient } from './fake-client.ts';
import { formatTime } from './object-store.ts';

const cmRef = (name: string, namespace = 'ns'): ObjectRef => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  namespace,
  name,
});

function configMap(
  name: string,
  extra: Partial<KubeObject> = {},
  labels?: Record<string, string>,
): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: 'ns', uid: `${name}-uid`, ...(labels ? { labels } : {}) },
    data: { key: 'value' },
    ...extra,
  };
}

function widget(extra: Partial<KubeObject> = {}): KubeObject {
  return {
    apiVersion: 'example.com/v1',
    kind: 'Widget',
    metadata: { name: 'w', namespace: 'ns', uid: 'w-uid', generation: 1 },
    spec: { size: 1 },
    ...extra,
  };
}
const widgetRef: ObjectRef = { apiVersion: 'example.com/v1', kind: 'Widget', namespace: 'ns', name: 'w' };

async function rejection(promise: Promise<unknown>): Promise<StatusError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof StatusError, `expected a StatusError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the call to fail');
}

describe('FakeClient', () => {
  describe('create', () => {
    it('sets uid, resourceVersion, generation and a second-precision creationTimestamp', async () => {
      const client = new FakeClient({ clock: { now: () => Date.UTC(2024, 5, 1, 12, 30, 15, 750) } });
      const created = await client.create(configMap('a'));
      assert.match(
        created.metadata.uid ?? '',
        /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-8[0-9a-f]{3}-[0-9a-f]{12}$/,
      );
      assert.equal(created.metadata.resourceVersion, '1');
      assert.equal(created.metadata.generation, 1);
      assert.equal(created.metadata.creationTimestamp, '2024-06-01T12:30:15Z');
      assert.deepEqual(client.stored(cmRef('a')), created);
      const other = await client.create(configMap('b'));
      assert.equal(other.metadata.resourceVersion, '2');
      assert.notEqual(other.metadata.uid, created.metadata.uid);
    });

    it('resolves generateName to a name that is not taken', async () => {
      const client = new FakeClient();
      const obj = configMap('');
      obj.metadata = { generateName: 'gen-', namespace: 'ns' };
      const a = await client.create(obj);
      const b = await client.create(obj);
      assert.match(a.metadata.name ?? '', /^gen-[a-z0-9]{5}$/);
      assert.notEqual(a.metadata.name, b.metadata.name);
      assert.deepEqual(client.actions[0]?.ref, {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        namespace: 'ns',
        generateName: 'gen-',
      });
    });

    it('fails with AlreadyExists for a taken name, and refuses a resourceVersion', async () => {
      const client = new FakeClient({ objects: [configMap('a')] });
      const err = await rejection(client.create(configMap('a')));
      assert.ok(isAlreadyExists(err));
      assert.equal(err.code, 409);
      assert.equal(err.status.message, 'configmaps "a" already exists');
      const withVersion = configMap('b');
      withVersion.metadata.resourceVersion = '5';
      assert.equal((await rejection(client.create(withVersion))).code, 500);
    });

    it('drops status of a kind with a status subresource', async () => {
      const client = new FakeClient();
      const created = await client.create(widget({ status: { ready: true } }));
      assert.equal(created['status'], undefined);
      assert.deepEqual(
        client.actions[0]?.object?.['status'],
        { ready: true },
        'the action records what was sent',
      );
    });
  });

  describe('given objects', () => {
    it('are stored as written, with only a missing resourceVersion filled in', async () => {
      const given = configMap('a');
      delete given.metadata.uid;
      const client = new FakeClient({
        objects: [
          given,
          { ...configMap('b'), metadata: { name: 'b', namespace: 'ns', resourceVersion: '41' } },
        ],
      });
      assert.deepEqual(await client.get(cmRef('a')), {
        ...given,
        metadata: { ...given.metadata, resourceVersion: '1' },
      });
      const created = await client.create(configMap('c'));
      assert.equal(created.metadata.resourceVersion, '42', 'versions keep growing past the given ones');
    });
  });

  describe('get and list', () => {
    it('answers NotFound the way the API server does', async () => {
      const client = new FakeClient();
      const err = await rejection(client.get(cmRef('x')));
      assert.ok(isNotFound(err));
      assert.equal(err.code, 404);
      assert.equal(err.status.message, 'configmaps "x" not found');
      assert.equal(err.request, 'GET /api/v1/namespaces/ns/configmaps/x');
      const deployment = await rejection(
        client.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'ns', name: 'web' }),
      );
      assert.equal(deployment.status.message, 'deployments.apps "web" not found');
    });

    it('returns copies', async () => {
      const client = new FakeClient({ objects: [configMap('a')] });
      const got = await client.get(cmRef('a'));
      (got['data'] as Record<string, string>)['key'] = 'changed';
      assert.deepEqual((await client.get(cmRef('a')))['data'], { key: 'value' });
    });

    it('serves an object in every version of its group, and as metadata only', async () => {
      const client = new FakeClient({ objects: [widget()] });
      const v2 = await client.get({ ...widgetRef, apiVersion: 'example.com/v2' });
      assert.equal(v2.apiVersion, 'example.com/v2');
      assert.deepEqual(v2['spec'], { size: 1 });
      const meta = await client.get(widgetRef, { metadataOnly: true });
      assert.equal(meta.kind, 'PartialObjectMetadata');
      assert.equal(meta['spec'], undefined);
      assert.equal(meta.metadata.name, 'w');
    });

    it('filters lists by namespace, label selector and field selector', async () => {
      const client = new FakeClient({
        objects: [
          configMap('a', {}, { app: 'web', tier: 'front' }),
          configMap('b', {}, { app: 'web' }),
          configMap('c', {}, { app: 'db' }),
          {
            ...configMap('d', {}, { app: 'web' }),
            metadata: { name: 'd', namespace: 'other', labels: { app: 'web' } },
          },
          widget(),
        ],
      });
      const names = async (options: Parameters<FakeClient['list']>[1]): Promise<string[]> =>
        (await client.list({ apiVersion: 'v1', kind: 'ConfigMap' }, options)).items.map(
          (i) => i.metadata.name ?? '',
        );
      assert.deepEqual(await names({}), ['a', 'b', 'c', 'd']);
      assert.deepEqual(await names({ namespace: 'ns' }), ['a', 'b', 'c']);
      assert.deepEqual(await names({ labelSelector: 'app=web' }), ['a', 'b', 'd']);
      assert.deepEqual(await names({ labelSelector: 'app in (web,db),!tier', namespace: 'ns' }), ['b', 'c']);
      assert.deepEqual(await names({ fieldSelector: 'metadata.name!=a', namespace: 'ns' }), ['b', 'c']);
      const list = await client.list({ apiVersion: 'v1', kind: 'ConfigMap' }, { namespace: 'ns' });
      assert.equal(list.kind, 'ConfigMapList');
      assert.equal(list.items[0]?.kind, 'ConfigMap');
      const badField = await rejection(
        client.list({ apiVersion: 'v1', kind: 'ConfigMap' }, { fieldSelector: 'spec.x=1' }),
      );
      assert.equal(badField.code, 400);
    });

    it('pages with limit and continue', async () => {
      const client = new FakeClient({ objects: ['a', 'b', 'c'].map((n) => configMap(n)) });
      const type = { apiVersion: 'v1', kind: 'ConfigMap' };
      const first = await client.list(type, { limit: 2 });
      assert.deepEqual(
        first.items.map((i) => i.metadata.name),
        ['a', 'b'],
      );
      assert.equal(first.metadata.remainingItemCount, 1);
      const rest = await client.list(type, { limit: 2, continue: first.metadata.continue ?? '' });
      assert.deepEqual(
        rest.items.map((i) => i.metadata.name),
        ['c'],
      );
      assert.equal(rest.metadata.continue, undefined);
    });
  });

  describe('update', () => {
    it('needs the stored resourceVersion: a stale one is a 409 Conflict', async () => {
      const client = new FakeClient({ objects: [configMap('a')] });
      const current = await client.get(cmRef('a'));
      const updated = await client.update({ ...current, data: { key: 'new' } });
      assert.notEqual(updated.metadata.resourceVersion, current.metadata.resourceVersion);
      const err = await rejection(client.update({ ...current, data: { key: 'stale' } }));
      assert.ok(isConflict(err));
      assert.equal(
        err.status.message,
        'Operation cannot be fulfilled on configmaps "a": the object has been modified; please apply your changes to the latest version and try again',
      );
      assert.equal(err.request, 'PUT /api/v1/namespaces/ns/configmaps/a');
      assert.deepEqual((await client.get(cmRef('a')))['data'], { key: 'new' });
      const missing = configMap('a');
      assert.ok(isInvalid(await rejection(client.update(missing))), 'no resourceVersion: 422');
      assert.ok(
        isNotFound(
          await rejection(client.update({ ...current, metadata: { ...current.metadata, name: 'zz' } })),
        ),
      );
    });

    it('bumps generation only when something other than metadata or status changed', async () => {
      const client = new FakeClient({ objects: [widget({ status: { observed: 0 } })] });
      let w = await client.get(widgetRef);
      assert.equal(w.metadata.generation, 1);
      w = await client.update({ ...w, metadata: { ...w.metadata, labels: { a: 'b' } } });
      assert.equal(w.metadata.generation, 1, 'labels are metadata');
      w = await client.update({ ...w, spec: { size: 2 } });
      assert.equal(w.metadata.generation, 2);
      w = await client.updateStatus({ ...w, status: { observed: 2 } });
      assert.equal(w.metadata.generation, 2, 'status is not spec');
    });

    it('ignores status on a kind with a status subresource', async () => {
      const client = new FakeClient({ objects: [widget({ status: { ready: false } })] });
      const w = await client.get(widgetRef);
      const updated = await client.update({ ...w, spec: { size: 3 }, status: { ready: true } });
      assert.deepEqual(updated['status'], { ready: false });
      assert.deepEqual(updated['spec'], { size: 3 });
    });

    it('keeps status writes on a kind without one, and has no /status for it', async () => {
      const client = new FakeClient({
        objects: [widget({ status: { ready: false } })],
        withoutStatusSubresource: ['Widget'],
      });
      const w = await client.get(widgetRef);
      const updated = await client.update({ ...w, status: { ready: true } });
      assert.deepEqual(updated['status'], { ready: true });
      assert.equal(updated.metadata.generation, 2, 'status is part of the resource');
      const err = await rejection(client.updateStatus(updated));
      assert.equal(err.code, 404);
    });

    it('is a no-op when nothing changed', async () => {
      const client = new FakeClient({ objects: [configMap('a')] });
      const current = await client.get(cmRef('a'));
      const same = await client.update(current);
      assert.equal(same.metadata.resourceVersion, current.metadata.resourceVersion);
    });

    it('keeps server-owned metadata', async () => {
      const client = new FakeClient({ objects: [configMap('a')] });
      const current = await client.get(cmRef('a'));
      const updated = await client.update({
        ...current,
        metadata: { ...current.metadata, uid: 'forged', creationTimestamp: '2000-01-01T00:00:00Z' },
      });
      assert.equal(updated.metadata.uid, current.metadata.uid);
      assert.equal(updated.metadata.creationTimestamp, current.metadata.creationTimestamp);
    });
  });

  describe('updateStatus', () => {
    it('changes only status', async () => {
      const client = new FakeClient({ objects: [widget()] });
      const w = await client.get(widgetRef);
      const updated = await client.updateStatus({
        ...w,
        metadata: { ...w.metadata, labels: { ignored: 'yes' } },
        spec: { size: 99 },
        status: { ready: true },
      });
      assert.deepEqual(updated['status'], { ready: true });
      assert.deepEqual(updated['spec'], { size: 1 });
      assert.equal(updated.metadata.labels, undefined);
      assert.ok(isConflict(await rejection(client.updateStatus({ ...w, status: { ready: false } }))));
    });
  });

  describe('patch', () => {
    it('applies a merge patch, null removing a field', async () => {
      const client = new FakeClient({ objects: [configMap('a', {}, { app: 'web', tier: 'front' })] });
      const patched = await client.patch(
        cmRef('a'),
        { metadata: { labels: { tier: null, new: 'x' } } },
        { type: 'merge' },
      );
      assert.deepEqual(patched.metadata.labels, { app: 'web', new: 'x' });
      assert.deepEqual(client.actions[0]?.patch, { metadata: { labels: { tier: null, new: 'x' } } });
      assert.equal(client.actions[0]?.patchType, 'merge');
    });

    it('treats resourceVersion and uid in a patch as preconditions', async () => {
      const client = new FakeClient({ objects: [configMap('a')] });
      const current = await client.get(cmRef('a'));
      const err = await rejection(
        client.patch(
          cmRef('a'),
          { metadata: { finalizers: ['f'], resourceVersion: '999' } },
          { type: 'merge' },
        ),
      );
      assert.ok(isConflict(err));
      const ok = await client.patch(
        cmRef('a'),
        { metadata: { finalizers: ['f'], resourceVersion: current.metadata.resourceVersion } },
        { type: 'merge' },
      );
      assert.deepEqual(ok.metadata.finalizers, ['f']);
      assert.ok(
        isConflict(
          await rejection(client.patch(cmRef('a'), { metadata: { uid: 'other' } }, { type: 'merge' })),
        ),
      );
    });

    it('applies every JSON patch operation, and fails the whole patch on a failed test', async () => {
      const client = new FakeClient({ objects: [configMap('a', { data: { a: '1', b: '2' } })] });
      const patched = await client.patch(
        cmRef('a'),
        [
          { op: 'test', path: '/data/a', value: '1' },
          { op: 'add', path: '/data/c', value: '3' },
          { op: 'replace', path: '/data/a', value: 'one' },
          { op: 'remove', path: '/data/b' },
          { op: 'copy', from: '/data/c', path: '/data/d' },
          { op: 'move', from: '/data/c', path: '/data/e' },
        ],
        { type: 'json' },
      );
      assert.deepEqual(patched['data'], { a: 'one', d: '3', e: '3' });
      const err = await rejection(
        client.patch(
          cmRef('a'),
          [
            { op: 'replace', path: '/data/a', value: 'lost' },
            { op: 'test', path: '/data/a', value: 'nope' },
          ],
          { type: 'json' },
        ),
      );
      assert.ok(isInvalid(err));
      assert.match(err.message, /test failed/);
      assert.deepEqual((await client.get(cmRef('a')))['data'], { a: 'one', d: '3', e: '3' });
    });

    it('applies a strategic merge patch as a merge patch, refusing directives', async () => {
      const client = new FakeClient({ objects: [configMap('a')] });
      const patched = await client.patch(cmRef('a'), '{"data":{"key":"smp"}}', { type: 'strategic-merge' });
      assert.deepEqual(patched['data'], { key: 'smp' });
      const err = await rejection(
        client.patch(cmRef('a'), { data: { $patch: 'replace' } }, { type: 'strategic-merge' }),
      );
      assert.match(err.message, /directive data\.\$patch is not supported/);
    });

    it('patches status through the status subresource only', async () => {
      const client = new FakeClient({ objects: [widget({ status: { ready: false } })] });
      const main = await client.patch(widgetRef, { status: { ready: true } }, { type: 'merge' });
      assert.deepEqual(main['status'], { ready: false });
      const status = await client.patch(
        widgetRef,
        { spec: { size: 5 }, status: { ready: true } },
        { type: 'merge', subresource: 'status' },
      );
      assert.deepEqual(status['status'], { ready: true });
      assert.deepEqual(status['spec'], { size: 1 });
    });
  });

  describe('delete', () => {
    it('removes an object without finalizers', async () => {
      const client = new FakeClient({ objects: [configMap('a')] });
      const status = (await client.delete(cmRef('a'))) as { kind: string; status: string };
      assert.equal(status.kind, 'Status');
      assert.equal(status.status, 'Success');
      assert.equal(client.stored(cmRef('a')), undefined);
      assert.ok(isNotFound(await rejection(client.delete(cmRef('a')))));
    });

    it('marks an object with finalizers for deletion; removing the last finalizer removes it', async () => {
      const clock = { ms: Date.UTC(2024, 0, 1), now: () => clock.ms };
      const client = new FakeClient({
        clock,
        objects: [
          widget({ metadata: { name: 'w', namespace: 'ns', generation: 1, finalizers: ['a', 'b'] } }),
        ],
      });
      clock.ms += 90_500;
      const deleting = (await client.delete(widgetRef)) as KubeObject;
      assert.equal(deleting.metadata.deletionTimestamp, '2024-01-01T00:01:30Z');
      assert.equal(deleting.metadata.generation, 2);
      const again = (await client.delete(widgetRef)) as KubeObject;
      assert.equal(
        again.metadata.resourceVersion,
        deleting.metadata.resourceVersion,
        'deleting again changes nothing',
      );

      const added = await rejection(
        client.update({ ...deleting, metadata: { ...deleting.metadata, finalizers: ['a', 'b', 'c'] } }),
      );
      assert.ok(isInvalid(added));
      assert.match(added.message, /no new finalizers can be added if the object is being deleted/);

      const one = await client.update({ ...deleting, metadata: { ...deleting.metadata, finalizers: ['b'] } });
      assert.ok(client.stored(widgetRef), 'one finalizer left');
      await client.patch(
        widgetRef,
        { metadata: { finalizers: null, resourceVersion: one.metadata.resourceVersion } },
        { type: 'merge' },
      );
      assert.equal(client.stored(widgetRef), undefined);
    });

    it('checks uid and resourceVersion preconditions', async () => {
      const client = new FakeClient({ objects: [configMap('a')] });
      const current = await client.get(cmRef('a'));
      const uid = await rejection(client.delete(cmRef('a'), { preconditions: { uid: 'other' } }));
      assert.ok(isConflict(uid));
      assert.match(
        uid.status.message ?? '',
        /Precondition failed: UID in precondition: other, UID in object meta: /,
      );
      assert.ok(
        isConflict(await rejection(client.delete(cmRef('a'), { preconditions: { resourceVersion: '0' } }))),
      );
      await client.delete(cmRef('a'), {
        preconditions: {
          uid: current.metadata.uid ?? '',
          resourceVersion: current.metadata.resourceVersion ?? '',
        },
      });
      assert.equal(client.stored(cmRef('a')), undefined);
    });
  });

  describe('reactors and actions', () => {
    it('fails the second update with an injected error, and records both attempts', async () => {
      const client = new FakeClient({
        objects: [configMap('a')],
        reactors: [
          {
            verb: 'update',
            kind: 'ConfigMap',
            fn: (action, call) => (call === 2 ? conflictError(action.ref) : undefined),
          },
        ],
      });
      const first = await client.update({ ...(await client.get(cmRef('a'))), data: { key: '1' } });
      const err = await rejection(client.update({ ...first, data: { key: '2' } }));
      assert.ok(isConflict(err));
      assert.deepEqual((await client.get(cmRef('a')))['data'], { key: '1' });
      const updates = client.actions.filter((a) => a.verb === 'update');
      assert.equal(updates.length, 2);
      assert.equal(updates[0]?.error, undefined);
      assert.equal(updates[1]?.error, err);
      assert.deepEqual(
        client.writes().map((a) => a.verb),
        ['update', 'update'],
      );
    });

    it('induces failures for a window of calls', async () => {
      const client = new FakeClient({
        objects: [configMap('a'), widget()],
        reactors: [induceFailure('get', 'ConfigMap', { skip: 1, times: 2 })],
      });
      const outcomes: string[] = [];
      for (let i = 0; i < 4; i++) {
        outcomes.push(
          await client.get(cmRef('a')).then(
            () => 'ok',
            (err: StatusError) => err.status.message ?? '',
          ),
        );
      }
      assert.deepEqual(outcomes, [
        'ok',
        'Internal error occurred: inducing failure for get ConfigMap',
        'Internal error occurred: inducing failure for get ConfigMap',
        'ok',
      ]);
      assert.equal((await client.get(widgetRef)).kind, 'Widget', 'other kinds pass');
    });

    it('matches by verb and kind, and can answer a call itself', async () => {
      const client = new FakeClient({ objects: [configMap('a'), widget()] });
      client.addReactor({ verb: 'get', kind: 'Widget', fn: (a) => forbiddenError(a.ref, 'get') });
      client.addReactor({ verb: '*', kind: 'ConfigMap', fn: () => ({ response: configMap('canned') }) });
      const err = await rejection(client.get(widgetRef));
      assert.equal(err.code, 403);
      assert.equal(
        err.status.message,
        'widgets.example.com "w" is forbidden: User "system:serviceaccount:default:controller" cannot get resource "widgets" in API group "example.com" in the namespace "ns"',
      );
      assert.equal((await client.get(cmRef('a'))).metadata.name, 'canned');
      await client.list({ apiVersion: 'v1', kind: 'Secret' });
      assert.deepEqual(
        client.actions.map((a) => `${a.verb} ${a.ref.kind}`),
        ['get Widget', 'get ConfigMap', 'list Secret'],
      );
    });
  });

  it('names resources the way discovery does', () => {
    assert.equal(pluralOf('ConfigMap'), 'configmaps');
    assert.equal(pluralOf('NetworkPolicy'), 'networkpolicies');
    assert.equal(pluralOf('Gateway'), 'gateways');
    assert.equal(pluralOf('Ingress'), 'ingresses');
    assert.equal(pluralOf('Endpoints'), 'endpoints');
    assert.equal(pluralOf('Foo', { Foo: 'foos2' }), 'foos2');
    assert.equal(
      qualifiedResource({ apiVersion: 'servicebinding.io/v1', kind: 'ServiceBinding' }),
      'servicebindings.servicebinding.io',
    );
    assert.equal(formatTime(Date.UTC(2024, 0, 1, 0, 0, 0, 999)), '2024-01-01T00:00:00Z');
  });
});
