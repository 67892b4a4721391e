import assert from 'node:assert/strict';
import { subReconcilerTests } from '../testing/index.ts';
import { record, setupNames, thing } from './flow.test-helpers.ts';
import type { Thing } from './flow.test-helpers.ts';
import { OverrideSetup } from './override-setup.ts';

subReconcilerTests<Thing>('OverrideSetup', {
  reconciler: () =>
    new OverrideSetup<Thing>({
      reconciler: record('inner', { result: { requeue: true } }),
      setup: (ctx) => ctx.builder.index({ apiVersion: 'v1', kind: 'Setup' }, 'override', () => []),
    }),
  rows: {
    'reconciles with the nested reconciler, sets up with its own setup only': {
      resource: thing(),
      expectResource: thing(['inner']),
      expectedResult: { requeue: true },
      verify: async (_r, _e, config) => {
        const r = new OverrideSetup<Thing>({
          reconciler: record('inner'),
          setup: (ctx) => ctx.builder.index({ apiVersion: 'v1', kind: 'Setup' }, 'override', () => []),
        });
        assert.deepEqual(await setupNames(r, config), ['override']);
        assert.deepEqual(
          await setupNames(new OverrideSetup<Thing>({ reconciler: record('inner') }), config),
          [],
        );
        assert.throws(() => new OverrideSetup<Thing>({}), /needs setup, reconciler, or both/);
      },
    },
  },
});

subReconcilerTests<Thing>('OverrideSetup without a reconciler', {
  reconciler: () => new OverrideSetup<Thing>({ setup: () => undefined }),
  rows: {
    'reconcile does nothing': { resource: thing() },
  },
});
