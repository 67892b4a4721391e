import assert from 'node:assert/strict';
import { subReconcilerTests } from '../testing/index.ts';
import { record, setupNames, thing } from './flow.test-helpers.ts';
import type { Thing } from './flow.test-helpers.ts';
import { SyncReconciler } from './sync-reconciler.ts';
import { MaxIterationsError, While, retrieveIteration } from './while.ts';

/** Counts status.n up, recording the iteration index it ran in. */
const countUp = new SyncReconciler<Thing>({
  name: 'CountUp',
  sync: (ctx, t) => {
    const n = (t.status?.n ?? 0) + 1;
    t.status = { n, calls: [...(t.status?.calls ?? []), `iteration ${retrieveIteration(ctx)}`] };
    return { requeueAfterMs: 10_000 - n };
  },
});

subReconcilerTests<Thing>('While', {
  reconciler: () => new While<Thing>({ condition: (_ctx, t) => (t.status?.n ?? 0) < 3, reconciler: countUp }),
  rows: {
    'runs while the condition holds, aggregating results': {
      resource: thing(),
      expectResource: { ...thing(), status: { n: 3, calls: ['iteration 0', 'iteration 1', 'iteration 2'] } },
      expectedResult: { requeueAfterMs: 9_997 },
      verify: async (_r, _e, config) => {
        const w = new While<Thing>({ condition: () => false, reconciler: record('inner') });
        assert.deepEqual(await setupNames(w, config), ['inner']);
      },
    },
    'condition false at once: never runs': {
      resource: { ...thing(), status: { n: 5 } },
    },
  },
});

subReconcilerTests<Thing>('While, max iterations', {
  reconciler: () =>
    new While<Thing>({ name: 'Forever', condition: () => true, reconciler: countUp, maxIterations: 5 }),
  rows: {
    'exceeded: MaxIterationsError after running maxIterations times': {
      resource: thing(),
      expectResource: {
        ...thing(),
        status: { n: 5, calls: ['iteration 0', 'iteration 1', 'iteration 2', 'iteration 3', 'iteration 4'] },
      },
      shouldErr: /Forever: exceeded max iterations: 5/,
      verify: (_r, err) => {
        assert.ok(err instanceof MaxIterationsError);
        assert.equal(err.iterations, 5);
      },
    },
  },
});

subReconcilerTests<Thing>('While, default limit', {
  reconciler: () =>
    new While<Thing>({
      condition: () => true,
      reconciler: new SyncReconciler<Thing>({ name: 'Noop', sync: () => undefined }),
    }),
  rows: {
    '100 iterations by default': {
      resource: thing(),
      shouldErr: /exceeded max iterations: 100$/,
    },
  },
});

subReconcilerTests<Thing>('While, nested', {
  reconciler: () =>
    new While<Thing>({
      condition: (ctx, t) => (t.status?.calls?.length ?? 0) < 4 && retrieveIteration(ctx) < 2,
      reconciler: new While<Thing>({
        condition: (ctx) => retrieveIteration(ctx) < 2,
        reconciler: new SyncReconciler<Thing>({
          name: 'Inner',
          sync: (ctx, t) => {
            t.status = { calls: [...(t.status?.calls ?? []), `inner ${retrieveIteration(ctx)}`] };
          },
        }),
      }),
    }),
  rows: {
    'each loop sees its own iteration index': {
      resource: thing(),
      expectResource: thing(['inner 0', 'inner 1', 'inner 0', 'inner 1']),
    },
  },
});
