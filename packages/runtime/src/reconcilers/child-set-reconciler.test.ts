import type { KubeObject } from '@bindery/kube';
import { StatusError } from '@bindery/kube';
import {
  internalError,
  newDeleteRef,
  newEvent,
  newTrackRequest,
  subReconcilerTests,
} from '../testing/index.ts';
import { ChildSetReconciler, aggregateChildErrors } from './child-set-reconciler.ts';
import type { ChildSetReconcilerOptions } from './child-set-reconciler.ts';

interface Widget extends KubeObject {
  spec: { ids: string[] };
  status?: { children?: string[]; error?: string };
}

interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}

function widget(
  ids: string[],
  extra: { metadata?: Partial<KubeObject['metadata']>; status?: Widget['status'] } = {},
): Widget {
  return {
    apiVersion: 'example.com/v1',
    kind: 'Widget',
    metadata: { namespace: 'ns', name: 'w', uid: 'w-uid', ...extra.metadata },
    spec: { ids },
    ...(extra.status ? { status: extra.status } : {}),
  };
}

const owner = {
  apiVersion: 'example.com/v1',
  kind: 'Widget',
  name: 'w',
  uid: 'w-uid',
  controller: true,
  blockOwnerDeletion: true,
};

function child(id: string, value = id, owned = true, namespace = 'ns'): ConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      namespace,
      name: `w-${id}`,
      labels: { id },
      ...(owned ? { ownerReferences: [owner] } : {}),
    },
    data: { value },
  };
}

const options = (
  extra: Partial<ChildSetReconcilerOptions<Widget, ConfigMap>> = {},
): ChildSetReconcilerOptions<Widget, ConfigMap> => ({
  name: 'ConfigMaps',
  childType: { apiVersion: 'v1', kind: 'ConfigMap' },
  desiredChildren: (_ctx, w) => w.spec.ids.map((id) => child(id, id, false)),
  identifyChild: (c) => c.metadata.labels?.['id'] ?? '',
  mergeBeforeUpdate: (current, desired) => {
    current.data = desired.data ?? {};
  },
  reflectChildrenStatusOnParent: (_ctx, w, result) => {
    const err = aggregateChildErrors(result);
    w.status = {
      children: result.children.map(
        (c) => `${c.id}=${c.child?.metadata.name ?? (c.err instanceof StatusError ? c.err.reason : 'none')}`,
      ),
      ...(err ? { error: err instanceof StatusError ? err.reason : err.message } : {}),
    };
  },
  ...extra,
});

const event = (reason: string, name: string): ReturnType<typeof newEvent> =>
  newEvent(widget([]), 'Normal', reason, `${reason} ConfigMap "${name}"`);

subReconcilerTests<Widget>('ChildSetReconciler', {
  reconciler: () => new ChildSetReconciler<Widget, ConfigMap>(options()),
  rows: {
    'creates every desired child, in id order': {
      resource: widget(['b', 'a']),
      expectCreates: [child('a'), child('b')],
      expectEvents: [event('Created', 'w-a'), event('Created', 'w-b')],
      expectResource: widget(['b', 'a'], { status: { children: ['a=w-a', 'b=w-b'] } }),
    },
    'pairs by id: keeps, updates, deletes': {
      resource: widget(['a', 'b']),
      givenObjects: [child('a'), child('b', 'stale'), child('c')],
      expectUpdates: [child('b')],
      expectDeletes: [newDeleteRef(child('c'))],
      expectEvents: [event('Updated', 'w-b'), event('Deleted', 'w-c')],
      expectResource: widget(['a', 'b'], { status: { children: ['a=w-a', 'b=w-b', 'c=none'] } }),
    },
    'children of other parents are not ours': {
      resource: widget([]),
      givenObjects: [
        {
          ...child('x'),
          metadata: { ...child('x').metadata, ownerReferences: [{ ...owner, uid: 'other' }] },
        },
      ],
      expectResource: widget([], { status: { children: [] } }),
    },
    'a name taken by an object not ours: reflected for that child, the others go on': {
      resource: widget(['a', 'b']),
      givenObjects: [child('a', 'a', false)],
      expectCreates: [child('a'), child('b')],
      expectEvents: [
        newEvent(
          widget([]),
          'Warning',
          'CreationFailed',
          'Failed to create ConfigMap "w-a": POST /api/v1/namespaces/ns/configmaps: configmaps "w-a" already exists (AlreadyExists)',
        ),
        event('Created', 'w-b'),
      ],
      expectResource: widget(['a', 'b'], {
        status: { children: ['a=AlreadyExists', 'b=w-b'], error: 'AlreadyExists' },
      }),
      // Its deletion must wake the parent.
      expectTracks: [newTrackRequest(child('a', 'a', false), widget([]))],
    },
    'another error stops, after reflecting what was done': {
      resource: widget(['a', 'b']),
      withReactors: [
        { verb: 'create', fn: (_a, call) => (call === 1 ? undefined : internalError('etcd is down')) },
      ],
      expectCreates: [child('a'), child('b')],
      expectEvents: [
        event('Created', 'w-a'),
        newEvent(
          widget([]),
          'Warning',
          'CreationFailed',
          'Failed to create ConfigMap "w-b": FAKE: Internal error occurred: etcd is down (InternalError)',
        ),
      ],
      expectResource: widget(['a', 'b'], { status: { children: ['a=w-a'] } }),
      shouldErr: /etcd is down/,
    },
    'duplicate ids: error, nothing written': {
      resource: widget(['a', 'a']),
      shouldErr: /duplicate desired child id "a"/,
    },
    'parent being deleted: every child deleted, nothing reflected': {
      resource: widget(['a'], { metadata: { deletionTimestamp: '2024-01-01T00:00:00Z', finalizers: ['x'] } }),
      givenObjects: [child('a'), child('b')],
      expectDeletes: [newDeleteRef(child('a')), newDeleteRef(child('b'))],
      expectEvents: [event('Deleted', 'w-a'), event('Deleted', 'w-b')],
    },
  },
});

const elsewhere = (
  extra: Partial<ChildSetReconcilerOptions<Widget, ConfigMap>> = {},
): ChildSetReconcilerOptions<Widget, ConfigMap> =>
  options({
    finalizer: 'example.com/configmaps',
    ourChild: (w, c) => c.metadata.annotations?.['owner'] === w.metadata.uid,
    listOptions: () => ({ namespace: 'elsewhere' }),
    desiredChildren: (_ctx, w) =>
      w.spec.ids.map((id) => ({
        ...child(id, id, false, 'elsewhere'),
        metadata: { ...child(id, id, false, 'elsewhere').metadata, annotations: { owner: 'w-uid' } },
      })),
    ...extra,
  });

function remote(id: string): ConfigMap {
  const c = child(id, id, false, 'elsewhere');
  return { ...c, metadata: { ...c.metadata, annotations: { owner: 'w-uid' } } };
}

subReconcilerTests<Widget>('ChildSetReconciler with a finalizer', {
  reconciler: () => new ChildSetReconciler<Widget, ConfigMap>(elsewhere()),
  rows: {
    'adds the finalizer first, then creates children without owner references': {
      resource: widget(['a'], { metadata: { resourceVersion: '9' } }),
      expectPatches: [
        {
          kind: 'Widget',
          namespace: 'ns',
          name: 'w',
          patchType: 'merge',
          patch: { metadata: { finalizers: ['example.com/configmaps'], resourceVersion: '9' } },
        },
      ],
      expectCreates: [remote('a')],
      expectTracks: [
        {
          tracked: { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'elsewhere', name: 'w-a' },
          by: { apiVersion: 'example.com/v1', kind: 'Widget', namespace: 'ns', name: 'w' },
        },
      ],
      expectEvents: [
        newEvent(widget([]), 'Normal', 'FinalizerPatched', 'Patched finalizer "example.com/configmaps"'),
        event('Created', 'w-a'),
      ],
      expectResource: widget(['a'], {
        metadata: { finalizers: ['example.com/configmaps'] },
        status: { children: ['a=w-a'] },
      }),
    },
    'deleting: children deleted, the finalizer kept while they exist': {
      resource: widget(['a'], {
        metadata: { deletionTimestamp: '2024-01-01T00:00:00Z', finalizers: ['example.com/configmaps'] },
      }),
      givenObjects: [remote('a')],
      expectDeletes: [newDeleteRef(remote('a'))],
      expectEvents: [event('Deleted', 'w-a')],
    },
    'deleting, children gone: the finalizer is cleared': {
      resource: widget(['a'], {
        metadata: {
          deletionTimestamp: '2024-01-01T00:00:00Z',
          finalizers: ['example.com/configmaps'],
          resourceVersion: '3',
        },
      }),
      expectPatches: [
        {
          kind: 'Widget',
          namespace: 'ns',
          name: 'w',
          patchType: 'merge',
          patch: { metadata: { finalizers: [], resourceVersion: '3' } },
        },
      ],
      expectEvents: [
        newEvent(widget([]), 'Normal', 'FinalizerPatched', 'Patched finalizer "example.com/configmaps"'),
      ],
      expectResource: widget(['a'], { metadata: { deletionTimestamp: '2024-01-01T00:00:00Z' } }),
    },
  },
});
