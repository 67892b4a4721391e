import assert from 'node:assert/strict';
import type { KubeObject } from '@bindery/kube';
import { ConditionSet } from '../conditions.ts';
import type { ReconcileContext } from '../reconciler.ts';
import { HaltSubReconcilers } from '../result.ts';
import { StashKey } from '../stash.ts';
import { conflictError, internalError, newEvent, reconcilerTests } from '../testing/index.ts';
import type { TestConfig } from '../testing/index.ts';
import { ResourceReconciler } from './resource-reconciler.ts';
import { SyncReconciler } from './sync-reconciler.ts';

const type = { apiVersion: 'example.com/v1', kind: 'Widget' };
const request = { namespace: 'ns', name: 'w' };
const conditions = new ConditionSet({ happy: 'Ready', happyReason: 'Ready', dependents: ['Available'] });

interface Widget extends KubeObject {
  spec?: { size?: number };
  status?: {
    observedGeneration?: number;
    conditions?: Array<Record<string, unknown>>;
    [field: string]: unknown;
  };
}

function widget(overrides: Partial<Widget> = {}): Widget {
  return {
    ...type,
    metadata: { namespace: 'ns', name: 'w', uid: 'w-uid', generation: 2, ...overrides.metadata },
    spec: { size: 1 },
    ...(overrides.status ? { status: overrides.status } : {}),
  };
}

const old = '2023-06-01T12:00:00Z';
/** The clock of every row is moved 1.5 s past the kit's epoch: conditions must drop the fraction. */
const now = '2024-01-01T00:00:01Z';
const advance = (config: TestConfig): void => config.clock.advance(1500);

function cond(
  type: string,
  status: string,
  reason: string,
  lastTransitionTime: string,
  message = '',
): Record<string, unknown> {
  return { type, status, reason, message, lastTransitionTime };
}

const readyStatus = {
  observedGeneration: 2,
  conditions: [cond('Ready', 'True', 'Ready', old), cond('Available', 'True', 'Available', old)],
};

const markAvailable = (syncDuringFinalization = false): SyncReconciler<Widget> =>
  new SyncReconciler<Widget>({
    name: 'MarkAvailable',
    syncDuringFinalization,
    sync: (ctx, w) => {
      conditions
        .manage(w.status as Record<string, unknown>, ctx.config.clock)
        .markTrue('Available', 'Available');
    },
  });

const failing = (err: Error): SyncReconciler<Widget> =>
  new SyncReconciler<Widget>({
    name: 'Failing',
    sync: (ctx, w) => {
      conditions
        .manage(w.status as Record<string, unknown>, ctx.config.clock)
        .markFalse('Available', 'Broken', err.message);
      throw err;
    },
  });

const statusUpdated = newEvent(widget(), 'Normal', 'StatusUpdated', 'Updated status');

reconcilerTests('ResourceReconciler', {
  reconciler: () =>
    new ResourceReconciler<Widget>({
      name: 'WidgetReconciler',
      type,
      conditions,
      reconciler: markAvailable(),
    }),
  rows: {
    'resource not found: done, no error': {
      request,
      expectedResult: {},
    },
    'status unchanged: no status update, no event': {
      request,
      givenObjects: [widget({ status: readyStatus })],
      prepare: advance,
    },
    'status changed: updates status, times with second precision': {
      request,
      givenObjects: [widget()],
      prepare: advance,
      expectStatusUpdates: [
        widget({
          status: {
            conditions: [cond('Ready', 'True', 'Ready', now), cond('Available', 'True', 'Available', now)],
            observedGeneration: 2,
          },
        }),
      ],
      expectEvents: [statusUpdated],
    },
    'reason changed, status did not: lastTransitionTime kept': {
      request,
      givenObjects: [
        widget({
          status: {
            observedGeneration: 2,
            conditions: [cond('Ready', 'True', 'Ready', old), cond('Available', 'True', 'Before', old)],
          },
        }),
      ],
      prepare: advance,
      expectStatusUpdates: [widget({ status: readyStatus })],
      expectEvents: [statusUpdated],
    },
    'new generation: observedGeneration follows': {
      request,
      givenObjects: [widget({ metadata: { generation: 3 }, status: readyStatus })],
      expectStatusUpdates: [
        widget({ metadata: { generation: 3 }, status: { ...readyStatus, observedGeneration: 3 } }),
      ],
      expectEvents: [newEvent(widget(), 'Normal', 'StatusUpdated', 'Updated status')],
    },
    'status update conflict: requeue, not an error': {
      request,
      givenObjects: [widget()],
      prepare: advance,
      withReactors: [{ verb: 'updateStatus', fn: (a) => conflictError(a.ref) }],
      expectStatusUpdates: [
        widget({
          status: {
            conditions: [cond('Ready', 'True', 'Ready', now), cond('Available', 'True', 'Available', now)],
            observedGeneration: 2,
          },
        }),
      ],
      expectedResult: { requeue: true },
    },
    'status update fails otherwise: error and warning': {
      request,
      givenObjects: [widget({ status: { observedGeneration: 1 } })],
      withReactors: [{ verb: 'updateStatus', fn: () => internalError('etcd is down') }],
      expectStatusUpdates: [
        widget({
          status: {
            conditions: [
              cond('Ready', 'True', 'Ready', '2024-01-01T00:00:00Z'),
              cond('Available', 'True', 'Available', '2024-01-01T00:00:00Z'),
            ],
            observedGeneration: 2,
          },
        }),
      ],
      expectEvents: [
        newEvent(
          widget(),
          'Warning',
          'StatusUpdateFailed',
          'Failed to update status: FAKE: Internal error occurred: etcd is down (InternalError)',
        ),
      ],
      shouldErr: /etcd is down/,
    },
    'get fails: error': {
      request,
      withReactors: [{ verb: 'get', fn: () => internalError('no cache') }],
      shouldErr: /no cache/,
    },
  },
});

reconcilerTests('ResourceReconciler with a failing or halting sub-reconciler', {
  reconciler: () =>
    new ResourceReconciler<Widget>({
      name: 'WidgetReconciler',
      type,
      conditions,
      reconciler: failing(new Error('boom')),
    }),
  rows: {
    'error: status is still written, without observedGeneration, then the error propagates': {
      request,
      givenObjects: [widget({ status: { observedGeneration: 1 } })],
      expectStatusUpdates: [
        widget({
          status: {
            observedGeneration: 1,
            conditions: [
              cond('Ready', 'False', 'Broken', '2024-01-01T00:00:00Z', 'boom'),
              cond('Available', 'False', 'Broken', '2024-01-01T00:00:00Z', 'boom'),
            ],
          },
        }),
      ],
      expectEvents: [statusUpdated],
      shouldErr: /^boom$/,
    },
  },
});

reconcilerTests('ResourceReconciler halted', {
  reconciler: () =>
    new ResourceReconciler<Widget>({
      name: 'WidgetReconciler',
      type,
      conditions,
      reconciler: failing(new HaltSubReconcilers()),
    }),
  rows: {
    'HaltSubReconcilers: success, status written with observedGeneration': {
      request,
      givenObjects: [widget({ status: { observedGeneration: 1 } })],
      expectStatusUpdates: [
        widget({
          status: {
            observedGeneration: 2,
            conditions: [
              cond('Ready', 'False', 'Broken', '2024-01-01T00:00:00Z', 'halted'),
              cond('Available', 'False', 'Broken', '2024-01-01T00:00:00Z', 'halted'),
            ],
          },
        }),
      ],
      expectEvents: [statusUpdated],
    },
  },
});

const deleting = { deletionTimestamp: '2024-01-01T00:00:00Z', finalizers: ['example.com/finalizer'] };
const mustNotRun = new SyncReconciler<Widget>({
  name: 'MustNotRun',
  sync: () => {
    throw new Error('must not run');
  },
});

reconcilerTests('ResourceReconciler while deleting', {
  reconciler: () =>
    new ResourceReconciler<Widget>({
      name: 'WidgetReconciler',
      type,
      conditions,
      reconciler: markAvailable(true),
    }),
  rows: {
    'deleting with finalizers: reconciles, but status is not written': {
      request,
      givenObjects: [widget({ metadata: deleting })],
      verify: (_result, _err, config) => {
        // The reconcile ran: a read of the resource, nothing else.
        assert.deepEqual(
          config.client.actions.map((a) => a.verb),
          ['get'],
        );
      },
    },
  },
});

reconcilerTests('ResourceReconciler while deleting, syncStatusDuringFinalization', {
  reconciler: () =>
    new ResourceReconciler<Widget>({
      name: 'WidgetReconciler',
      type,
      conditions,
      syncStatusDuringFinalization: true,
      reconciler: markAvailable(true),
    }),
  rows: {
    'status is written': {
      request,
      givenObjects: [widget({ metadata: deleting })],
      expectStatusUpdates: [
        widget({
          metadata: deleting,
          status: {
            conditions: [
              cond('Ready', 'True', 'Ready', '2024-01-01T00:00:00Z'),
              cond('Available', 'True', 'Available', '2024-01-01T00:00:00Z'),
            ],
            observedGeneration: 2,
          },
        }),
      ],
      expectEvents: [statusUpdated],
    },
  },
});

reconcilerTests('ResourceReconciler skipping', {
  reconciler: () =>
    new ResourceReconciler<Widget>({
      name: 'WidgetReconciler',
      type,
      skipStatusUpdate: true,
      reconciler: mustNotRun,
    }),
  rows: {
    'skipStatusUpdate: no status update even when the reconciler fails': {
      request,
      givenObjects: [widget({ status: { observedGeneration: 1 } })],
      shouldErr: /must not run/,
    },
  },
});

let seen: { request: unknown; resourceType: unknown; stashWasEmpty: boolean } | undefined;
reconcilerTests('ResourceReconciler context', {
  reconciler: () =>
    new ResourceReconciler<Widget>({
      name: 'WidgetReconciler',
      type,
      reconciler: new SyncReconciler<Widget>({
        name: 'Look',
        sync: (ctx: ReconcileContext) => {
          seen = {
            request: ctx.request,
            resourceType: ctx.resourceType,
            stashWasEmpty: ctx.stash.entries().length === 0,
          };
          return { requeueAfterMs: 5000 };
        },
      }),
    }),
  rows: {
    'sub-reconcilers get the request, the type and a fresh stash; results pass through': {
      request,
      givenObjects: [widget()],
      givenStashedValues: [[new StashKey<string>('outer'), 'x']],
      prepare: () => {
        seen = undefined;
      },
      expectedResult: { requeueAfterMs: 5000 },
      verify: () => assert.deepEqual(seen, { request, resourceType: type, stashWasEmpty: true }),
    },
    'a deleted resource without finalizers is not reconciled': {
      request,
      givenObjects: [widget({ metadata: { deletionTimestamp: '2024-01-01T00:00:00Z' } })],
      prepare: () => {
        seen = undefined;
      },
      verify: () => assert.equal(seen, undefined),
    },
  },
});

// Conditions reset on every reconcile (servicebinding.io style): Unknown, then set again.
const resetting = new ConditionSet({ happy: 'Ready', dependents: ['Available'], resetOnInitialize: true });
reconcilerTests('ResourceReconciler with conditions reset on each reconcile', {
  reconciler: () =>
    new ResourceReconciler<Widget>({
      name: 'WidgetReconciler',
      type,
      conditions: resetting,
      reconciler: new SyncReconciler<Widget>({
        name: 'MarkAvailable',
        sync: (ctx, w) => {
          if (w.spec?.size === 0) return;
          resetting
            .manage(w.status as Record<string, unknown>, ctx.config.clock)
            .markTrue('Available', 'Available');
        },
      }),
    }),
  rows: {
    'set again as it was: lastTransitionTime restored, no status update': {
      request,
      givenObjects: [widget({ status: readyStatus })],
      prepare: advance,
    },
    'left reset: the transition to Unknown is written with a new time': {
      request,
      givenObjects: [{ ...widget({ status: readyStatus }), spec: { size: 0 } }],
      prepare: advance,
      expectStatusUpdates: [
        {
          ...widget({
            status: {
              observedGeneration: 2,
              conditions: [
                cond('Ready', 'Unknown', 'Initializing', now),
                cond('Available', 'Unknown', 'Initializing', now),
              ],
            },
          }),
          spec: { size: 0 },
        },
      ],
      expectEvents: [statusUpdated],
    },
  },
});
