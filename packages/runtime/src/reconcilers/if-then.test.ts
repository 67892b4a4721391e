import assert from 'node:assert/strict';
import { subReconcilerTests } from '../testing/index.ts';
import { record, setupNames, thing } from './flow.test-helpers.ts';
import type { Thing } from './flow.test-helpers.ts';
import { IfThen } from './if-then.ts';

subReconcilerTests<Thing>('IfThen', {
  reconciler: () =>
    new IfThen<Thing>({
      if: (_ctx, t) => t.spec?.flag === true,
      then: record('then', { result: { requeue: true } }),
      else: record('else'),
    }),
  rows: {
    'true: then': {
      resource: thing(undefined, { flag: true }),
      expectResource: thing(['then'], { flag: true }),
      expectedResult: { requeue: true },
    },
    'false: else': {
      resource: thing(undefined, { flag: false }),
      expectResource: thing(['else'], { flag: false }),
      verify: async (_r, _e, config) => {
        const r = new IfThen<Thing>({ if: () => true, then: record('t'), else: record('e') });
        assert.deepEqual(await setupNames(r, config), ['t', 'e']);
      },
    },
  },
});

subReconcilerTests<Thing>('IfThen without else', {
  reconciler: () => new IfThen<Thing>({ if: () => Promise.resolve(false), then: record('then') }),
  rows: {
    'false: nothing': { resource: thing() },
  },
});
