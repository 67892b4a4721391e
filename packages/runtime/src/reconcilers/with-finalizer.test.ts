import type { KubeObject } from '@bindery/kube';
import { internalError, newEvent, subReconcilerTests } from '../testing/index.ts';
import { SyncReconciler } from './sync-reconciler.ts';
import { WithFinalizer } from './with-finalizer.ts';

const finalizer = 'example.com/finalizer';

function widget(metadata: Partial<KubeObject['metadata']> = {}): KubeObject {
  return {
    apiVersion: 'example.com/v1',
    kind: 'Widget',
    metadata: { namespace: 'ns', name: 'w', ...metadata },
    spec: { size: 1 },
  };
}

const deleting = { deletionTimestamp: '2024-01-01T00:00:00Z' };

let calls: string[] = [];
const nested = new SyncReconciler<KubeObject>({
  name: 'Nested',
  sync: (_ctx, w) => {
    calls.push(`sync with finalizers ${JSON.stringify(w.metadata.finalizers ?? [])}`);
  },
  finalize: (_ctx, w) => {
    if (w.metadata.labels?.['fail'] === 'true') throw new Error('cleanup failed');
    calls.push('finalize');
  },
});

const reset = (): void => {
  calls = [];
};

subReconcilerTests<KubeObject>('WithFinalizer', {
  reconciler: () => new WithFinalizer({ finalizer, reconciler: nested }),
  rows: {
    'live resource: adds the finalizer with an optimistic merge patch, then reconciles': {
      resource: widget({ resourceVersion: '5' }),
      prepare: reset,
      expectResource: widget({ finalizers: [finalizer] }),
      expectPatches: [
        {
          kind: 'Widget',
          namespace: 'ns',
          name: 'w',
          patchType: 'merge',
          patch: { metadata: { finalizers: [finalizer], resourceVersion: '5' } },
        },
      ],
      expectEvents: [newEvent(widget(), 'Normal', 'FinalizerPatched', `Patched finalizer "${finalizer}"`)],
      verify: () => {
        if (calls.join() !== `sync with finalizers ["${finalizer}"]`)
          throw new Error(`calls: ${calls.join()}`);
      },
    },
    'keeps finalizers others set': {
      resource: widget({ resourceVersion: '5', finalizers: ['other'] }),
      prepare: reset,
      expectResource: widget({ finalizers: ['other', finalizer] }),
      expectPatches: [
        {
          kind: 'Widget',
          namespace: 'ns',
          name: 'w',
          patchType: 'merge',
          patch: { metadata: { finalizers: ['other', finalizer], resourceVersion: '5' } },
        },
      ],
      expectEvents: [newEvent(widget(), 'Normal', 'FinalizerPatched', `Patched finalizer "${finalizer}"`)],
    },
    'finalizer already there: no patch': {
      resource: widget({ finalizers: [finalizer] }),
      prepare: reset,
    },
    'patch fails: warning event and error, nothing reconciled': {
      resource: widget(),
      prepare: reset,
      withReactors: [{ verb: 'patch', fn: () => internalError('etcd is down') }],
      expectPatches: [
        {
          kind: 'Widget',
          namespace: 'ns',
          name: 'w',
          patchType: 'merge',
          patch: { metadata: { finalizers: [finalizer], resourceVersion: '1' } },
        },
      ],
      expectEvents: [
        newEvent(
          widget(),
          'Warning',
          'FinalizerPatchFailed',
          `Failed to patch finalizer "${finalizer}": FAKE: Internal error occurred: etcd is down (InternalError)`,
        ),
      ],
      shouldErr: /etcd is down/,
      verify: () => {
        if (calls.length !== 0) throw new Error(`calls: ${calls.join()}`);
      },
    },
    'deleting: finalizes, then clears the finalizer with an optimistic merge patch': {
      resource: widget({ ...deleting, resourceVersion: '7', finalizers: ['other', finalizer] }),
      prepare: reset,
      expectResource: widget({ ...deleting, finalizers: ['other'] }),
      expectPatches: [
        {
          kind: 'Widget',
          namespace: 'ns',
          name: 'w',
          patchType: 'merge',
          patch: { metadata: { finalizers: ['other'], resourceVersion: '7' } },
        },
      ],
      expectEvents: [newEvent(widget(), 'Normal', 'FinalizerPatched', `Patched finalizer "${finalizer}"`)],
      verify: () => {
        if (calls.join() !== 'finalize') throw new Error(`calls: ${calls.join()}`);
      },
    },
    'deleting, last finalizer: cleared (and the object is gone)': {
      resource: widget({ ...deleting, resourceVersion: '7', finalizers: [finalizer] }),
      prepare: reset,
      expectResource: widget(deleting),
      expectPatches: [
        {
          kind: 'Widget',
          namespace: 'ns',
          name: 'w',
          patchType: 'merge',
          patch: { metadata: { finalizers: [], resourceVersion: '7' } },
        },
      ],
      expectEvents: [newEvent(widget(), 'Normal', 'FinalizerPatched', `Patched finalizer "${finalizer}"`)],
      verify: (_r, _e, config) => {
        if (
          config.client.stored({ apiVersion: 'example.com/v1', kind: 'Widget', namespace: 'ns', name: 'w' })
        ) {
          throw new Error('the object should be gone');
        }
      },
    },
    'deleting, finalize fails: the finalizer stays': {
      resource: widget({ ...deleting, labels: { fail: 'true' }, finalizers: [finalizer] }),
      prepare: reset,
      shouldErr: /cleanup failed/,
    },
    'deleting, without our finalizer: finalizes, no patch': {
      resource: widget({ ...deleting, finalizers: ['other'] }),
      prepare: reset,
    },
  },
});

subReconcilerTests<KubeObject>('WithFinalizer, stale resource', {
  reconciler: () =>
    new WithFinalizer({
      finalizer,
      reconciler: new SyncReconciler<KubeObject>({
        name: 'ChangesTheResourceBehindOurBack',
        sync: () => undefined,
        finalize: async (ctx, w) => {
          // Another writer updates the object: our copy is now stale.
          await ctx.config.client.update({ ...w, metadata: { ...w.metadata, labels: { touched: 'yes' } } });
        },
      }),
    }),
  rows: {
    'the clear patch carries the old resourceVersion and fails with Conflict': {
      resource: widget({ ...deleting, resourceVersion: '7', finalizers: [finalizer] }),
      expectUpdates: [widget({ ...deleting, finalizers: [finalizer], labels: { touched: 'yes' } })],
      expectPatches: [
        {
          kind: 'Widget',
          namespace: 'ns',
          name: 'w',
          patchType: 'merge',
          patch: { metadata: { finalizers: [], resourceVersion: '7' } },
        },
      ],
      expectEvents: [
        newEvent(
          widget(),
          'Warning',
          'FinalizerPatchFailed',
          `Failed to patch finalizer "${finalizer}": PATCH /apis/example.com/v1/namespaces/ns/widgets/w: Operation cannot be fulfilled on widgets.example.com "w": the object has been modified; please apply your changes to the latest version and try again (Conflict)`,
        ),
      ],
      shouldErr: /Conflict/,
    },
  },
});
