import assert from 'node:assert/strict';
import { StatusError } from '@bindery/kube';
import type { KubeObject } from '@bindery/kube';
import { ownerRequests } from '../controller.ts';
import type { MapFunc, ReconcileContext, Request } from '../reconciler.ts';
import { Stash } from '../stash.ts';
import {
  alreadyExistsError,
  internalError,
  invalidError,
  newDeleteRef,
  newEvent,
  newTrackRequest,
  subReconcilerTests,
} from '../testing/index.ts';
import type { TestConfig } from '../testing/index.ts';
import { ChildReconciler } from './child-reconciler.ts';
import { OnlyReconcileChildStatus } from './children.ts';

interface Widget extends KubeObject {
  spec: { size: number; only?: boolean };
  status?: { configMapName?: string; error?: string };
}

interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}

function widget(spec: Widget['spec'] = { size: 2 }, extra: Partial<Widget> = {}): Widget {
  return {
    apiVersion: 'example.com/v1',
    kind: 'Widget',
    metadata: { namespace: 'ns', name: 'w', uid: 'w-uid', ...extra.metadata },
    spec,
    ...(extra.status ? { status: extra.status } : {}),
  };
}

const widgetType = { apiVersion: 'example.com/v1', kind: 'Widget' };

const owner = {
  apiVersion: 'example.com/v1',
  kind: 'Widget',
  name: 'w',
  uid: 'w-uid',
  controller: true,
  blockOwnerDeletion: true,
};

function configMap(
  name: string,
  data: Record<string, string>,
  owned = true,
  extra: Partial<KubeObject['metadata']> = {},
): ConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      namespace: 'ns',
      name,
      labels: { app: 'w' },
      ...(owned ? { ownerReferences: [owner] } : {}),
      ...extra,
    },
    data,
  };
}

const childReconciler = (): ChildReconciler<Widget, ConfigMap> =>
  new ChildReconciler<Widget, ConfigMap>({
    name: 'ConfigMapChild',
    childType: { apiVersion: 'v1', kind: 'ConfigMap' },
    desiredChild: (_ctx, w) => {
      if (w.spec.only) throw new OnlyReconcileChildStatus();
      if (w.spec.size === 0) return undefined;
      return {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { namespace: 'ns', name: 'w-config', labels: { app: 'w' } },
        data: { size: String(w.spec.size) },
      };
    },
    mergeBeforeUpdate: (current, desired) => {
      current.metadata.labels = desired.metadata.labels ?? {};
      current.data = desired.data ?? {};
    },
    reflectChildStatusOnParent: (_ctx, w, child, err) => {
      if (err !== undefined) {
        w.status = { error: err instanceof StatusError ? err.reason : JSON.stringify(err) };
        return;
      }
      w.status = child ? { configMapName: child.metadata.name ?? '' } : {};
    },
  });

/** What the reconciler's watches enqueue when `obj` changes: its owner (Owns) and what tracks it. */
async function requestsFor(config: TestConfig, obj: KubeObject): Promise<Request[]> {
  const maps: MapFunc[] = [];
  await childReconciler().setup({
    config,
    builder: {
      owns: (type) => {
        if (type.kind === obj.kind) maps.push((o) => ownerRequests(o, widgetType));
      },
      watches: (type, map) => {
        if (type.kind === obj.kind) maps.push(map);
      },
      index() {},
    },
    log: config.log,
    resourceType: widgetType,
  });
  const keys = new Set(maps.flatMap((map) => map(obj)).map((r) => JSON.stringify(r)));
  return [...keys].map((k) => JSON.parse(k) as Request);
}

const reflected = (name: string): Widget => widget({ size: 2 }, { status: { configMapName: name } });
const created = newEvent(widget(), 'Normal', 'Created', 'Created ConfigMap "w-config"');

subReconcilerTests<Widget>('ChildReconciler', {
  reconciler: childReconciler,
  rows: {
    'no child: creates it, controlled by the parent': {
      resource: widget(),
      expectCreates: [configMap('w-config', { size: '2' })],
      expectEvents: [created],
      expectResource: reflected('w-config'),
    },
    'child in sync: no write, status reflected': {
      resource: widget(),
      givenObjects: [configMap('w-config', { size: '2' })],
      expectResource: reflected('w-config'),
    },
    'child drifted: updated, fields we do not own kept': {
      resource: widget(),
      givenObjects: [configMap('w-config', { size: '1' }, true, { annotations: { theirs: 'kept' } })],
      expectUpdates: [configMap('w-config', { size: '2' }, true, { annotations: { theirs: 'kept' } })],
      expectEvents: [newEvent(widget(), 'Normal', 'Updated', 'Updated ConfigMap "w-config"')],
      expectResource: reflected('w-config'),
    },
    'child not desired: deleted': {
      resource: widget({ size: 0 }),
      givenObjects: [configMap('w-config', { size: '1' })],
      expectDeletes: [newDeleteRef(configMap('w-config', {}))],
      expectEvents: [newEvent(widget(), 'Normal', 'Deleted', 'Deleted ConfigMap "w-config"')],
      expectResource: widget({ size: 0 }, { status: {} }),
    },
    'extra children: all deleted, then the desired one created': {
      resource: widget(),
      givenObjects: [configMap('w-config', { size: '2' }), configMap('w-config-old', { size: '1' })],
      expectDeletes: [newDeleteRef(configMap('w-config', {})), newDeleteRef(configMap('w-config-old', {}))],
      expectCreates: [configMap('w-config', { size: '2' })],
      expectEvents: [
        newEvent(widget(), 'Normal', 'Deleted', 'Deleted ConfigMap "w-config"'),
        newEvent(widget(), 'Normal', 'Deleted', 'Deleted ConfigMap "w-config-old"'),
        created,
      ],
      expectResource: reflected('w-config'),
    },
    'children of other owners are left alone': {
      resource: widget(),
      givenObjects: [
        configMap('other-config', { size: '9' }, false, {
          ownerReferences: [{ ...owner, name: 'other', uid: 'other-uid' }],
        }),
      ],
      expectCreates: [configMap('w-config', { size: '2' })],
      expectEvents: [created],
      expectResource: reflected('w-config'),
    },
    'name taken by an object that is not ours: AlreadyExists reflected on the parent, no error': {
      resource: widget(),
      givenObjects: [configMap('w-config', { size: '9' }, false)],
      expectCreates: [configMap('w-config', { size: '2' })],
      expectEvents: [
        newEvent(
          widget(),
          'Warning',
          'CreationFailed',
          'Failed to create ConfigMap "w-config": POST /api/v1/namespaces/ns/configmaps: configmaps "w-config" already exists (AlreadyExists)',
        ),
      ],
      expectResource: widget({ size: 2 }, { status: { error: 'AlreadyExists' } }),
      // The blocker is tracked, so its deletion wakes the parent (reconciler.io tracks it too).
      expectTracks: [newTrackRequest(configMap('w-config', {}, false), widget())],
      verify: async (_result, _err, config) => {
        const blocker = configMap('w-config', { size: '9' }, false);
        assert.deepEqual(await requestsFor(config, blocker), [{ namespace: 'ns', name: 'w' }]);
      },
    },
    'AlreadyExists for our own child (a cache that lags our create): error, retried': {
      resource: widget(),
      apiGivenObjects: [configMap('w-config', { size: '2' })],
      withReactors: [
        {
          verb: 'create',
          kind: 'ConfigMap',
          fn: (a) => alreadyExistsError({ ...a.ref, name: 'w-config' }),
        },
      ],
      expectCreates: [configMap('w-config', { size: '2' })],
      expectEvents: [
        newEvent(
          widget(),
          'Warning',
          'CreationFailed',
          'Failed to create ConfigMap "w-config": FAKE /api/v1/namespaces/ns/configmaps/w-config: configmaps "w-config" already exists (AlreadyExists)',
        ),
      ],
      shouldErr: /already exists/,
    },
    'Invalid child: reflected on the parent, no error': {
      resource: widget(),
      withReactors: [
        {
          verb: 'create',
          kind: 'ConfigMap',
          fn: (a) => invalidError({ ...a.ref, name: 'w-config' }, 'data.size: Invalid value'),
        },
      ],
      expectCreates: [configMap('w-config', { size: '2' })],
      expectEvents: [
        newEvent(
          widget(),
          'Warning',
          'CreationFailed',
          'Failed to create ConfigMap "w-config": FAKE /api/v1/namespaces/ns/configmaps/w-config: ConfigMap "w-config" is invalid: data.size: Invalid value (Invalid)',
        ),
      ],
      expectResource: widget({ size: 2 }, { status: { error: 'Invalid' } }),
    },
    'other errors fail the reconcile': {
      resource: widget(),
      givenObjects: [configMap('w-config', { size: '1' })],
      withReactors: [{ verb: 'update', kind: 'ConfigMap', fn: () => internalError('etcd is down') }],
      expectUpdates: [configMap('w-config', { size: '2' })],
      expectEvents: [
        newEvent(
          widget(),
          'Warning',
          'UpdateFailed',
          'Failed to update ConfigMap "w-config": FAKE: Internal error occurred: etcd is down (InternalError)',
        ),
      ],
      shouldErr: /etcd is down/,
    },
    'OnlyReconcileChildStatus: child left alone, status reflected': {
      resource: widget({ size: 2, only: true }),
      givenObjects: [configMap('w-config', { size: '1' })],
      expectResource: widget({ size: 2, only: true }, { status: { configMapName: 'w-config' } }),
    },
    'parent being deleted: child deleted, nothing reflected': {
      resource: widget(
        { size: 2 },
        { metadata: { deletionTimestamp: '2024-01-01T00:00:00Z', finalizers: ['x'] } },
      ),
      givenObjects: [configMap('w-config', { size: '2' })],
      expectDeletes: [newDeleteRef(configMap('w-config', {}))],
      expectEvents: [newEvent(widget(), 'Normal', 'Deleted', 'Deleted ConfigMap "w-config"')],
    },
  },
});

// A mutating webhook on ConfigMaps: it zero-pads `data.size` (a field we set) and
// adds `data.injected` (one we do not). The reactor edits the request in place,
// which the fake then stores, as the API server stores what its webhooks return.
function mutatingWebhook(config: TestConfig): void {
  config.client.addReactor({
    verb: '*',
    kind: 'ConfigMap',
    fn: (action) => {
      if ((action.verb !== 'update' && action.verb !== 'create') || !action.object) return undefined;
      const mutated = action.object as ConfigMap;
      mutated.data = {
        ...mutated.data,
        size: (mutated.data?.['size'] ?? '').padStart(2, '0'),
        injected: 'yes',
      };
      return undefined;
    },
  });
}

let instance: ChildReconciler<Widget, ConfigMap> | undefined;

function context(config: TestConfig): ReconcileContext {
  return {
    config,
    originalConfig: config,
    stash: new Stash(),
    signal: new AbortController().signal,
    log: config.log,
    request: { namespace: 'ns', name: 'w' },
    resourceType: { apiVersion: 'example.com/v1', kind: 'Widget' },
  };
}

subReconcilerTests<Widget>('ChildReconciler and mutating webhooks', {
  reconciler: () => (instance = childReconciler()),
  rows: {
    'what a webhook added is not undone, but a new desired state is still written': {
      resource: widget(),
      prepare: mutatingWebhook,
      // Recorded as admitted.
      expectCreates: [configMap('w-config', { size: '02', injected: 'yes' })],
      expectEvents: [created],
      expectResource: reflected('w-config'),
      verify: async (_result, _err, config, resource) => {
        const r = instance;
        assert.ok(r);
        const ref = { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'ns', name: 'w-config' };
        assert.deepEqual(config.client.stored<ConfigMap>(ref)?.data, { size: '02', injected: 'yes' });
        // Reconciled again: what the webhook did is not undone.
        await r.reconcile(context(config), resource);
        assert.equal(config.client.writes().length, 1, 'no update after the create');
        // A new desired state is written, not masked by the old mutation (and the webhook mutates it again).
        resource.spec.size = 3;
        await r.reconcile(context(config), resource);
        const updates = config.client.writes().filter((a) => a.verb === 'update');
        assert.deepEqual(
          updates.map((a) => (a.object as ConfigMap).data),
          [{ size: '03', injected: 'yes' }],
        );
        assert.deepEqual(config.client.stored<ConfigMap>(ref)?.data, { size: '03', injected: 'yes' });
        // And in sync again at once.
        await r.reconcile(context(config), resource);
        assert.equal(config.client.writes().length, 2);
        resource.spec.size = 2;
        resource.status = { configMapName: 'w-config' };
      },
    },
  },
});

subReconcilerTests<Widget>('ChildReconciler with a finalizer', {
  reconciler: () =>
    new ChildReconciler<Widget, ConfigMap>({
      name: 'ConfigMapChild',
      childType: { apiVersion: 'v1', kind: 'ConfigMap' },
      finalizer: 'example.com/config',
      ourChild: (w, c) => c.metadata.labels?.['owner'] === w.metadata.name,
      desiredChild: (_ctx, w) => ({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { namespace: 'elsewhere', name: 'w-config', labels: { owner: 'w' } },
        data: { size: String(w.spec.size) },
      }),
      listOptions: () => ({ namespace: 'elsewhere' }),
      mergeBeforeUpdate: (current, desired) => {
        current.data = desired.data ?? {};
      },
      reflectChildStatusOnParent: () => undefined,
    }),
  rows: {
    'adds the finalizer, creates the child without an owner reference, tracks it': {
      resource: widget({ size: 2 }, { metadata: { resourceVersion: '3' } }),
      expectResource: widget({ size: 2 }, { metadata: { finalizers: ['example.com/config'] } }),
      expectPatches: [
        {
          kind: 'Widget',
          namespace: 'ns',
          name: 'w',
          patchType: 'merge',
          patch: { metadata: { finalizers: ['example.com/config'], resourceVersion: '3' } },
        },
      ],
      expectCreates: [
        {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { namespace: 'elsewhere', name: 'w-config', labels: { owner: 'w' } },
          data: { size: '2' },
        },
      ],
      expectTracks: [
        newTrackRequest(
          { apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace: 'elsewhere', name: 'w-config' } },
          widget(),
        ),
      ],
      expectEvents: [
        newEvent(widget(), 'Normal', 'FinalizerPatched', 'Patched finalizer "example.com/config"'),
        newEvent(widget(), 'Normal', 'Created', 'Created ConfigMap "w-config"'),
      ],
    },
    'deleting: deletes the child; the finalizer stays until it is gone': {
      resource: widget(
        { size: 2 },
        { metadata: { deletionTimestamp: '2024-01-01T00:00:00Z', finalizers: ['example.com/config'] } },
      ),
      givenObjects: [
        {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { namespace: 'elsewhere', name: 'w-config', labels: { owner: 'w' } },
          data: { size: '2' },
        },
      ],
      expectDeletes: [{ kind: 'ConfigMap', namespace: 'elsewhere', name: 'w-config' }],
      expectEvents: [newEvent(widget(), 'Normal', 'Deleted', 'Deleted ConfigMap "w-config"')],
    },
    'deleting, child gone: clears the finalizer': {
      resource: widget(
        { size: 2 },
        {
          metadata: {
            deletionTimestamp: '2024-01-01T00:00:00Z',
            finalizers: ['example.com/config'],
            resourceVersion: '4',
          },
        },
      ),
      expectResource: widget({ size: 2 }, { metadata: { deletionTimestamp: '2024-01-01T00:00:00Z' } }),
      expectPatches: [
        {
          kind: 'Widget',
          namespace: 'ns',
          name: 'w',
          patchType: 'merge',
          patch: { metadata: { finalizers: [], resourceVersion: '4' } },
        },
      ],
      expectEvents: [
        newEvent(widget(), 'Normal', 'FinalizerPatched', 'Patched finalizer "example.com/config"'),
      ],
    },
  },
});
