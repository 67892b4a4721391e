import assert from 'node:assert/strict';
import type { Config } from '../config.ts';
import type { ReconcileContext } from '../reconciler.ts';
import { newEvent, subReconcilerTests, testConfig } from '../testing/index.ts';
import type { TestConfig } from '../testing/index.ts';
import { thing } from './flow.test-helpers.ts';
import type { Thing } from './flow.test-helpers.ts';
import { SyncReconciler } from './sync-reconciler.ts';
import { WithConfig } from './with-config.ts';
import { WithFinalizer } from './with-finalizer.ts';

const other: TestConfig = testConfig({
  givenObjects: [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace: 'remote', name: 'cm' } }],
});

let seen: { configIsOther: boolean; originalIsOther: boolean } | undefined;
let setupConfig: Config | undefined;

subReconcilerTests<Thing>('WithConfig', {
  reconciler: () =>
    new WithConfig<Thing>({
      config: () => other,
      reconciler: new WithFinalizer<Thing>({
        finalizer: 'example.com/f',
        reconciler: new SyncReconciler<Thing>({
          name: 'Remote',
          setup: (ctx) => {
            setupConfig = ctx.config;
          },
          sync: async (ctx: ReconcileContext, t) => {
            seen = { configIsOther: ctx.config === other, originalIsOther: ctx.originalConfig === other };
            const cm = await ctx.config.client.get({
              apiVersion: 'v1',
              kind: 'ConfigMap',
              namespace: 'remote',
              name: 'cm',
            });
            t.status = { calls: [`read ${cm.metadata.name ?? ''}`] };
          },
        }),
      }),
    }),
  rows: {
    'the nested reconciler uses the new config; the resource stays with the original one': {
      resource: thing(),
      prepare: () => {
        seen = undefined;
      },
      expectResource: {
        ...thing(['read cm']),
        metadata: { ...thing().metadata, finalizers: ['example.com/f'] },
      },
      // The finalizer is written through the original config, whose client holds the resource.
      expectPatches: [
        {
          kind: 'Thing',
          namespace: 'ns',
          name: 't',
          patchType: 'merge',
          patch: { metadata: { finalizers: ['example.com/f'], resourceVersion: '1' } },
        },
      ],
      expectEvents: [newEvent(thing(), 'Normal', 'FinalizerPatched', 'Patched finalizer "example.com/f"')],
      verify: async (_r, _e, config) => {
        assert.deepEqual(seen, { configIsOther: true, originalIsOther: false });
        const r = new WithConfig<Thing>({
          config: () => other,
          reconciler: new SyncReconciler<Thing>({
            name: 'S',
            setup: (ctx) => {
              setupConfig = ctx.config;
            },
            sync: () => undefined,
          }),
        });
        await r.setup({
          config,
          builder: { owns() {}, watches() {}, index() {} },
          log: config.log,
          resourceType: { apiVersion: 'example.com/v1', kind: 'Thing' },
        });
        assert.equal(setupConfig, other);
      },
    },
  },
});
