import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '@bindery/kube';
import type { ReconcileContext } from './reconciler.ts';
import { ResourceManager, existsOnServer } from './resource-manager.ts';
import { Stash } from './stash.ts';
import { conflictError, newEvent, notFoundError, testConfig } from './testing/index.ts';
import type { TestConfig } from './testing/index.ts';

interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}

const parent: KubeObject = {
  apiVersion: 'example.com/v1',
  kind: 'Widget',
  metadata: { namespace: 'ns', name: 'w' },
};
const ref = { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'ns', name: 'cm' };

function cm(data: Record<string, string>): ConfigMap {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace: 'ns', name: 'cm' }, data };
}

function context(config: TestConfig): ReconcileContext {
  return {
    config,
    originalConfig: config,
    stash: new Stash(),
    signal: new AbortController().signal,
    log: config.log,
    request: { namespace: 'ns', name: 'w' },
    resourceType: { apiVersion: 'example.com/v1', kind: 'Widget' },
  };
}

function manager(ttlMs?: number): ResourceManager<ConfigMap> {
  return new ResourceManager<ConfigMap>({
    name: 'cm',
    type: { apiVersion: 'v1', kind: 'ConfigMap' },
    mergeBeforeUpdate: (current, desired) => {
      current.data = desired.data ?? {};
    },
    ...(ttlMs !== undefined ? { mutationCacheTtlMs: ttlMs } : {}),
  });
}

describe('ResourceManager', () => {
  it('tells objects from the API server from skeletons', () => {
    assert.equal(existsOnServer(undefined), false);
    assert.equal(existsOnServer(cm({})), false);
    assert.equal(existsOnServer({ ...cm({}), metadata: { name: 'cm', resourceVersion: '1' } }), true);
  });

  it('deletes with the uid as precondition, and a gone object is not an error nor an event', async () => {
    const config = testConfig({ givenObjects: [{ ...cm({}), metadata: { ...cm({}).metadata, uid: 'u1' } }] });
    const actual = await config.client.get<ConfigMap>(ref);
    config.client.addReactor({
      verb: 'delete',
      fn: (_a, call) => (call === 2 ? notFoundError(ref) : undefined),
    });
    await manager().manage(context(config), parent, actual, undefined);
    const deletes = config.client.actions.filter((a) => a.verb === 'delete');
    assert.deepEqual(deletes[0]?.options, { preconditions: { uid: 'u1' } });
    assert.deepEqual(config.recorder.events, [
      newEvent(parent, 'Normal', 'Deleted', 'Deleted ConfigMap "cm"'),
    ]);
    // A second, stale attempt: NotFound.
    assert.equal(await manager().manage(context(config), parent, actual, undefined), undefined);
    assert.equal(config.recorder.events.length, 1);
  });

  it('forgets a learned mutation after its time to live', async () => {
    const config = testConfig();
    // A webhook that adds a key to whatever it admits.
    config.client.addReactor({
      verb: '*',
      kind: 'ConfigMap',
      fn: (a) => {
        if ((a.verb === 'create' || a.verb === 'update') && a.object) {
          (a.object as ConfigMap).data = { ...(a.object as ConfigMap).data, injected: 'yes' };
        }
        return undefined;
      },
    });
    const m = manager(1000);
    const ctx = context(config);
    const created = await m.manage(ctx, parent, undefined, cm({ a: '1' }));
    assert.deepEqual(created?.data, { a: '1', injected: 'yes' });
    assert.equal(await m.manage(ctx, parent, created, cm({ a: '1' })), created, 'in sync while remembered');
    config.clock.advance(1000);
    const updated = await m.manage(ctx, parent, created, cm({ a: '1' }));
    assert.notEqual(updated, created, 'updated once the mutation is forgotten');
    assert.equal(config.client.writes().length, 2);
  });

  it('remembers the mutations of at most mutationCacheSize objects, the least recently used forgotten first', async () => {
    const config = testConfig();
    config.client.addReactor({
      verb: '*',
      kind: 'ConfigMap',
      fn: (a) => {
        if ((a.verb === 'create' || a.verb === 'update') && a.object) {
          (a.object as ConfigMap).data = { ...(a.object as ConfigMap).data, injected: 'yes' };
        }
        return undefined;
      },
    });
    const m = new ResourceManager<ConfigMap>({
      name: 'cm',
      type: { apiVersion: 'v1', kind: 'ConfigMap' },
      mergeBeforeUpdate: (current, desired) => {
        current.data = desired.data ?? {};
      },
      mutationCacheSize: 2,
    });
    const ctx = context(config);
    const named = (name: string): ConfigMap => ({ ...cm({ a: '1' }), metadata: { namespace: 'ns', name } });
    const created = [];
    for (const name of ['one', 'two', 'three'])
      created.push(await m.manage(ctx, parent, undefined, named(name)));
    assert.equal(config.client.writes().length, 3);
    assert.equal(
      await m.manage(ctx, parent, created[2], named('three')),
      created[2],
      'a recent one is remembered',
    );
    const rewritten = await m.manage(ctx, parent, created[0], named('one'));
    assert.notEqual(rewritten, created[0], 'the oldest was forgotten, so the webhook is undone and redone');
    assert.equal(config.client.writes().length, 4);
  });

  it('an update that conflicts is an error with an UpdateFailed warning', async () => {
    const config = testConfig({ givenObjects: [cm({ a: '1' })] });
    config.client.addReactor({ verb: 'update', fn: () => conflictError(ref) });
    const actual = await config.client.get<ConfigMap>(ref);
    await assert.rejects(manager().manage(context(config), parent, actual, cm({ a: '2' })), /Conflict/);
    assert.equal(config.recorder.events[0]?.reason, 'UpdateFailed');
  });
});
