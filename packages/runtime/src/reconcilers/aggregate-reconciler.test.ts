import assert from 'node:assert/strict';
import type { KubeObject } from '@bindery/kube';
import type { Builder } from '../reconciler.ts';
import { StashKey } from '../stash.ts';
import { newDeleteRef, newEvent, reconcilerTests } from '../testing/index.ts';
import { AggregateReconciler } from './aggregate-reconciler.ts';
import { SyncReconciler } from './sync-reconciler.ts';

interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}

const request = { namespace: 'system', name: 'widgets' };
const widgetType = { apiVersion: 'example.com/v1', kind: 'Widget' };

function aggregate(data?: Record<string, string>, metadata: Partial<KubeObject['metadata']> = {}): ConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { namespace: 'system', name: 'widgets', ...metadata },
    ...(data ? { data } : {}),
  };
}

function widget(name: string): KubeObject {
  return { ...widgetType, metadata: { namespace: 'ns', name } };
}

const namesKey = new StashKey<string[]>('widget names');

const reconciler = (): AggregateReconciler<ConfigMap> =>
  new AggregateReconciler<ConfigMap>({
    name: 'WidgetIndex',
    type: { apiVersion: 'v1', kind: 'ConfigMap' },
    request,
    setup: (ctx) => ctx.builder.watches(widgetType, () => [request]),
    reconciler: new SyncReconciler<ConfigMap>({
      name: 'ListWidgets',
      sync: async (ctx) => {
        const list = await ctx.config.client.list(widgetType);
        ctx.stash.set(
          namesKey,
          list.items.map((w) => w.metadata.name ?? ''),
        );
      },
    }),
    desired: (ctx, current) => {
      const names = ctx.stash.require(namesKey);
      if (names.length === 0) return undefined;
      return { ...current, data: { widgets: names.join(',') } };
    },
    mergeBeforeUpdate: (current, desired) => {
      current.data = desired.data ?? {};
    },
  });

reconcilerTests('AggregateReconciler', {
  reconciler,
  rows: {
    'missing: created': {
      request,
      givenObjects: [widget('a'), widget('b')],
      expectCreates: [aggregate({ widgets: 'a,b' })],
      expectEvents: [newEvent(aggregate(), 'Normal', 'Created', 'Created ConfigMap "widgets"')],
    },
    'different: updated, keeping what is not ours': {
      request,
      givenObjects: [widget('a'), aggregate({ widgets: 'old' }, { labels: { theirs: 'kept' } })],
      expectUpdates: [aggregate({ widgets: 'a' }, { labels: { theirs: 'kept' } })],
      expectEvents: [newEvent(aggregate(), 'Normal', 'Updated', 'Updated ConfigMap "widgets"')],
    },
    'in sync: no write': {
      request,
      givenObjects: [widget('a'), aggregate({ widgets: 'a' })],
    },
    'nothing desired: deleted': {
      request,
      givenObjects: [aggregate({ widgets: 'a' })],
      expectDeletes: [newDeleteRef(aggregate())],
      expectEvents: [newEvent(aggregate(), 'Normal', 'Deleted', 'Deleted ConfigMap "widgets"')],
    },
    'nothing desired, nothing there: nothing': {
      request,
    },
    'being deleted by someone: left alone': {
      request,
      givenObjects: [
        widget('a'),
        aggregate({ widgets: 'old' }, { deletionTimestamp: '2024-01-01T00:00:00Z', finalizers: ['x'] }),
      ],
    },
    'another request: ignored without a read': {
      request: { namespace: 'system', name: 'other' },
      givenObjects: [widget('a')],
      verify: (_r, _e, config) => assert.deepEqual(config.client.actions, []),
    },
    'no tracking of itself': {
      request,
      givenObjects: [widget('a')],
      expectCreates: [aggregate({ widgets: 'a' })],
      expectEvents: [newEvent(aggregate(), 'Normal', 'Created', 'Created ConfigMap "widgets"')],
      verify: async (_r, _e, config) => {
        const watched: string[] = [];
        const builder: Builder = {
          owns: () => undefined,
          watches: (type, map) => watched.push(`${type.kind}→${JSON.stringify(map(widget('z')))}`),
          index: () => undefined,
        };
        await reconciler().setup({
          config,
          builder,
          log: config.log,
          resourceType: { apiVersion: 'v1', kind: 'ConfigMap' },
        });
        assert.deepEqual(watched, [`Widget→${JSON.stringify([request])}`]);
        assert.throws(
          () =>
            new AggregateReconciler<ConfigMap>({
              name: 'x',
              type: { apiVersion: 'v1', kind: 'ConfigMap' },
              request: { name: '' },
              mergeBeforeUpdate: () => undefined,
            }),
          /request.name is required/,
        );
      },
    },
  },
});

reconcilerTests('AggregateReconciler defaults', {
  reconciler: () =>
    new AggregateReconciler<ConfigMap>({
      name: 'Defaulted',
      type: { apiVersion: 'v1', kind: 'ConfigMap' },
      request,
      // No desired: the resource as the sub-reconciler leaves it is what is desired.
      reconciler: new SyncReconciler<ConfigMap>({
        name: 'Fill',
        sync: (_ctx, cm) => {
          cm.data = { filled: 'yes' };
        },
      }),
      mergeBeforeUpdate: (current, desired) => {
        current.data = desired.data ?? {};
      },
    }),
  rows: {
    'existing: updated to what the sub-reconciler made of it': {
      request,
      givenObjects: [aggregate({ filled: 'no' })],
      expectUpdates: [aggregate({ filled: 'yes' })],
      expectEvents: [newEvent(aggregate(), 'Normal', 'Updated', 'Updated ConfigMap "widgets"')],
    },
  },
});
