import assert from 'node:assert/strict';
import { subReconcilerTests } from '../testing/index.ts';
import { record, setupNames, thing } from './flow.test-helpers.ts';
import type { Thing } from './flow.test-helpers.ts';
import { TryCatch } from './try-catch.ts';

subReconcilerTests<Thing>('TryCatch without catch', {
  reconciler: () =>
    new TryCatch<Thing>({
      try: record('try', { error: new Error('try failed') }),
      finally: record('finally', { result: { requeueAfterMs: 5 } }),
    }),
  rows: {
    'the error of try propagates after finally': {
      resource: thing(),
      expectResource: thing(['try', 'finally']),
      shouldErr: /^try failed$/,
      verify: async (_r, _e, config) => {
        const r = new TryCatch<Thing>({ try: record('t'), finally: record('f') });
        assert.deepEqual(await setupNames(r, config), ['t', 'f']);
      },
    },
  },
});

subReconcilerTests<Thing>('TryCatch suppressing', {
  reconciler: () =>
    new TryCatch<Thing>({
      try: record('try', { error: new Error('try failed') }),
      catch: (_ctx, t, result, err) => {
        t.status = { ...t.status, calls: [...(t.status?.calls ?? []), `caught ${(err as Error).message}`] };
        return [{ ...result, requeueAfterMs: 60_000 }, undefined];
      },
      finally: record('finally', { result: { requeueAfterMs: 1000 } }),
    }),
  rows: {
    'catch replaces the outcome; finally results aggregate': {
      resource: thing(),
      expectResource: thing(['try', 'caught try failed', 'finally']),
      expectedResult: { requeueAfterMs: 1000 },
    },
  },
});

subReconcilerTests<Thing>('TryCatch raising', {
  reconciler: () =>
    new TryCatch<Thing>({
      try: record('try', { result: { requeue: true } }),
      catch: async (_ctx, _t, result, err) => {
        assert.equal(err, undefined);
        assert.deepEqual(result, { requeue: true });
        return Promise.resolve([result, new Error('raised by catch')]);
      },
    }),
  rows: {
    'catch sees a success and may turn it into an error': {
      resource: thing(),
      expectResource: thing(['try']),
      shouldErr: /raised by catch/,
    },
  },
});

subReconcilerTests<Thing>('TryCatch with a failing finally', {
  reconciler: () =>
    new TryCatch<Thing>({
      try: record('try', { error: new Error('try failed') }),
      finally: record('finally', { error: new Error('finally failed') }),
    }),
  rows: {
    'the error of finally wins': {
      resource: thing(),
      expectResource: thing(['try', 'finally']),
      shouldErr: /^finally failed$/,
    },
  },
});
