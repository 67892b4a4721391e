import assert from 'node:assert/strict';
import { HaltSubReconcilers } from '../result.ts';
import { newEvent, reconcilerTests, subReconcilerTests } from '../testing/index.ts';
import { record, setupNames, thing } from './flow.test-helpers.ts';
import type { Thing } from './flow.test-helpers.ts';
import { ResourceReconciler } from './resource-reconciler.ts';
import { Sequence } from './sequence.ts';

subReconcilerTests<Thing>('Sequence', {
  reconciler: () => new Sequence<Thing>([]),
  rows: {
    'empty: nothing happens': { resource: thing() },
  },
});

subReconcilerTests<Thing>('Sequence in order', {
  reconciler: () =>
    new Sequence<Thing>({
      name: 'InOrder',
      reconcilers: [
        record('a', { result: { requeueAfterMs: 3000 } }),
        record('b'),
        record('c', { result: { requeueAfterMs: 1000 } }),
      ],
    }),
  rows: {
    'runs each in order and keeps the soonest requeue': {
      resource: thing(),
      expectResource: thing(['a', 'b', 'c']),
      expectedResult: { requeueAfterMs: 1000 },
      verify: async (_r, _e, config) => {
        const s = new Sequence<Thing>([record('x'), record('y')]);
        assert.deepEqual(await setupNames(s, config), ['x', 'y']);
      },
    },
  },
});

subReconcilerTests<Thing>('Sequence stopping', {
  reconciler: () =>
    new Sequence<Thing>([record('a'), record('b', { error: new Error('b failed') }), record('c')]),
  rows: {
    'stops at the first error and throws it': {
      resource: thing(),
      expectResource: thing(['a', 'b']),
      shouldErr: /^b failed$/,
    },
  },
});

subReconcilerTests<Thing>('Sequence halting', {
  reconciler: () =>
    new Sequence<Thing>([
      new Sequence<Thing>([record('a'), record('b', { error: new HaltSubReconcilers() })]),
      record('c'),
    ]),
  rows: {
    'HaltSubReconcilers stops enclosing sequences too': {
      resource: thing(),
      expectResource: thing(['a', 'b']),
      shouldErr: /halted/,
    },
  },
});

reconcilerTests('Sequence halting under a ResourceReconciler', {
  reconciler: () =>
    new ResourceReconciler<Thing>({
      name: 'ThingReconciler',
      type: { apiVersion: 'example.com/v1', kind: 'Thing' },
      reconciler: new Sequence<Thing>([
        record('a'),
        record('b', { error: new HaltSubReconcilers() }),
        record('c'),
      ]),
    }),
  rows: {
    'the halt is a success: status written, no error': {
      request: { namespace: 'ns', name: 't' },
      givenObjects: [{ ...thing(), metadata: { ...thing().metadata, generation: 4 } }],
      expectStatusUpdates: [{ ...thing(), status: { calls: ['a', 'b'], observedGeneration: 4 } }],
      expectEvents: [newEvent(thing(), 'Normal', 'StatusUpdated', 'Updated status')],
    },
  },
});

subReconcilerTests<Thing>('Sequence halting with a result', {
  reconciler: () =>
    new Sequence<Thing>([
      record('a', { result: { requeueAfterMs: 5000 } }),
      record('b', { error: new HaltSubReconcilers('service gone', { requeueAfterMs: 60_000 }) }),
      record('c'),
    ]),
  rows: {
    'the halt carries the results so far, the soonest requeue first': {
      resource: thing(),
      expectResource: thing(['a', 'b']),
      shouldErr: /service gone/,
      verify: (_r, err) => {
        assert.ok(err instanceof HaltSubReconcilers);
        assert.deepEqual(err.result, { requeueAfterMs: 5000 });
      },
    },
  },
});

reconcilerTests('Sequence halting with a result under a ResourceReconciler', {
  reconciler: () =>
    new ResourceReconciler<Thing>({
      name: 'ThingReconciler',
      type: { apiVersion: 'example.com/v1', kind: 'Thing' },
      reconciler: new Sequence<Thing>([
        record('a'),
        record('b', { error: new HaltSubReconcilers('not found', { requeueAfterMs: 60_000 }) }),
      ]),
    }),
  rows: {
    "reconciler.io's rule: the halt's result is returned": {
      request: { namespace: 'ns', name: 't' },
      givenObjects: [{ ...thing(), metadata: { ...thing().metadata, generation: 4 } }],
      expectStatusUpdates: [{ ...thing(), status: { calls: ['a', 'b'], observedGeneration: 4 } }],
      expectEvents: [newEvent(thing(), 'Normal', 'StatusUpdated', 'Updated status')],
      expectedResult: { requeueAfterMs: 60_000 },
    },
  },
});
