import assert from 'node:assert/strict';
import { subReconcilerTests } from '../testing/index.ts';
import { setupNames, thing } from './flow.test-helpers.ts';
import type { Thing } from './flow.test-helpers.ts';
import { SyncReconciler } from './sync-reconciler.ts';

const deleting = { deletionTimestamp: '2024-01-01T00:00:00Z', finalizers: ['example.com/f'] };

function deletingThing(calls?: string[]): Thing {
  const t = thing(calls);
  t.metadata = { ...t.metadata, ...deleting };
  return t;
}

const push = (t: Thing, call: string): void => {
  t.status = { calls: [...(t.status?.calls ?? []), call] };
};

const reconciler = (syncDuringFinalization: boolean): SyncReconciler<Thing> =>
  new SyncReconciler<Thing>({
    name: 'Sync',
    syncDuringFinalization,
    setup: (ctx) => ctx.builder.index({ apiVersion: 'v1', kind: 'Setup' }, 'sync', () => []),
    sync: (_ctx, t) => {
      push(t, 'sync');
      return { requeueAfterMs: 2000 };
    },
    finalize: async (_ctx, t) => {
      push(t, 'finalize');
      return Promise.resolve({ requeueAfterMs: 1000 });
    },
  });

subReconcilerTests<Thing>('SyncReconciler', {
  reconciler: () => reconciler(false),
  rows: {
    'live: sync only': {
      resource: thing(),
      expectResource: thing(['sync']),
      expectedResult: { requeueAfterMs: 2000 },
      verify: async (_r, _e, config) =>
        assert.deepEqual(await setupNames(reconciler(false), config), ['sync']),
    },
    'deleting: finalize only': {
      resource: deletingThing(),
      expectResource: deletingThing(['finalize']),
      expectedResult: { requeueAfterMs: 1000 },
    },
  },
});

subReconcilerTests<Thing>('SyncReconciler, syncDuringFinalization', {
  reconciler: () => reconciler(true),
  rows: {
    'deleting: sync, then finalize; the soonest requeue wins': {
      resource: deletingThing(),
      expectResource: deletingThing(['sync', 'finalize']),
      expectedResult: { requeueAfterMs: 1000 },
    },
  },
});

subReconcilerTests<Thing>('SyncReconciler failing', {
  reconciler: () =>
    new SyncReconciler<Thing>({
      name: 'Failing',
      syncDuringFinalization: true,
      sync: () => {
        throw new Error('sync failed');
      },
      finalize: (_ctx, t) => push(t, 'finalize'),
    }),
  rows: {
    'a failed sync skips finalize': {
      resource: deletingThing(),
      shouldErr: /sync failed/,
    },
  },
});

subReconcilerTests<Thing>('SyncReconciler without finalize', {
  reconciler: () => new SyncReconciler<Thing>({ name: 'NoFinalize', sync: (_ctx, t) => push(t, 'sync') }),
  rows: {
    'deleting: nothing': { resource: deletingThing() },
  },
});
