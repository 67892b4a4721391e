import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  KubeClient,
  KubeConfig,
  NoKindMatchError,
  SharedInformerFactory,
  isForbidden,
  isNotFound,
} from '@bindery/kube';
import { CacheSyncTimeoutError, CachedClient } from '../cached-client.ts';
import type { KubeObject } from '@bindery/kube';
import { testConfig } from './config.ts';
import { forbiddenError } from './errors.ts';
import { induceFailure } from './actions.ts';
import { testEpoch } from './object-store.ts';
import { newEvent } from './recorder.ts';
import { newTrackRequest } from './tracker.ts';

const cm = (name: string, data: Record<string, string> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: 'ns', labels: { app: 'web' } },
  data,
});
const binding = { apiVersion: 'example.com/v1', kind: 'Binding', namespace: 'ns', name: 'b' };

describe('testConfig', () => {
  it('starts the clock at the epoch and stamps creations with it', async () => {
    const config = testConfig();
    assert.equal(config.clock.now(), testEpoch);
    config.clock.advance(61_000);
    const created = await config.client.create(cm('a'));
    assert.equal(created.metadata.creationTimestamp, '2024-01-01T00:01:01Z');
  });

  it('reads the store of the client directly when no apiGivenObjects are given', async () => {
    const config = testConfig({ givenObjects: [cm('a')] });
    await config.client.create(cm('b'));
    assert.equal(
      (await config.apiReader.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'ns', name: 'b' }))
        .metadata.name,
      'b',
    );
    assert.deepEqual(
      config.client.actions.map((a) => `${a.verb} ${a.ref.name ?? ''}`),
      ['create b', 'get b'],
      'one record of calls',
    );
  });

  it('refuses a field selector on client, as the cached client does, and serves it on apiReader', async () => {
    const kubeConfig = new KubeConfig({
      clusters: [{ name: 'c', cluster: { server: 'https://127.0.0.1:1' } }],
      users: [{ name: 'u', user: {} }],
      contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
      'current-context': 'x',
    });
    const kube = new KubeClient({ kubeConfig });
    const cached = new CachedClient({ client: kube, informers: new SharedInformerFactory({ client: kube }) });
    const type = { apiVersion: 'v1', kind: 'ConfigMap' };
    const selected = { namespace: 'ns', fieldSelector: 'metadata.name=a' };
    const real = await cached.list(type, selected).then(
      () => assert.fail('the cached client served a field selector'),
      (err: unknown) => (err as Error).message,
    );

    const config = testConfig({ givenObjects: [cm('a'), cm('b')] });
    config.client.addReactor({ verb: 'list', fn: () => ({ response: { items: [] } }) });
    await assert.rejects(config.client.list(type, selected), (err: Error) => err.message === real);
    assert.equal(config.client.actions.at(-1)?.error?.message, real, 'recorded as a failed list');
    const direct = await testConfig({ givenObjects: [cm('a'), cm('b')] }).apiReader.list(type, selected);
    assert.deepEqual(
      direct.items.map((o) => o.metadata.name),
      ['a'],
    );
  });

  it('a forbidden read is a 403 on apiReader and a cache that never syncs on client; unserved kinds fail on both', async () => {
    const secrets = { apiVersion: 'v1', kind: 'Secret' };
    const config = testConfig({
      givenObjects: [cm('a')],
      served: ['ConfigMap', 'Secret'],
      reactors: [{ verb: 'list', kind: 'Secret', fn: (a) => forbiddenError(a.ref, 'list') }],
    });
    await assert.rejects(config.apiReader.list(secrets, { namespace: 'ns' }), (err: Error) =>
      isForbidden(err),
    );
    await assert.rejects(
      config.client.list(secrets, { namespace: 'ns' }),
      (err: Error) => err instanceof CacheSyncTimeoutError && /forbidden/.test(err.message),
    );
    for (const reader of [config.client, config.apiReader]) {
      await assert.rejects(
        reader.get({ apiVersion: 'example.com/v1', kind: 'Gadget', namespace: 'ns', name: 'g' }),
        (err: Error) => err instanceof NoKindMatchError,
      );
    }
    // Served kinds are answered as before.
    assert.equal(
      (await config.client.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'ns', name: 'a' })).metadata
        .name,
      'a',
    );
  });

  it('builds additional configs that share the clock but not the objects', async () => {
    const config = testConfig({
      givenObjects: [cm('here')],
      additionalConfigs: { remote: { givenObjects: [cm('there')] } },
    });
    const remote = config.additionalConfig('remote');
    assert.equal(remote.clock, config.clock);
    const ref = { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'ns' };
    assert.equal((await remote.client.get({ ...ref, name: 'there' })).metadata.name, 'there');
    await assert.rejects(remote.client.get({ ...ref, name: 'here' }), (err) => isNotFound(err));
    assert.throws(() => config.additionalConfig('other'), /no additional config "other": there are "remote"/);
    assert.throws(() => remote.additionalConfig('x'), /the row gives none/);
  });

  it('gives apiReader a store of its own with apiGivenObjects, and reactors on both', async () => {
    const config = testConfig({
      givenObjects: [cm('a', { v: 'cached' })],
      apiGivenObjects: [cm('a', { v: 'fresh' }), cm('only-api')],
      reactors: [induceFailure('list', 'Secret')],
    });
    const ref = { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'ns', name: 'a' };
    assert.deepEqual((await config.client.get(ref))['data'], { v: 'cached' });
    assert.deepEqual((await config.apiReader.get(ref))['data'], { v: 'fresh' });
    await assert.rejects(config.client.get({ ...ref, name: 'only-api' }), (err) => isNotFound(err));
    for (const reader of [config.client, config.apiReader]) {
      await assert.rejects(
        reader.list({ apiVersion: 'v1', kind: 'Secret' }),
        /inducing failure for list Secret/,
      );
    }
  });

  it('records events and tracks, and finds observers like the real tracker', () => {
    const config = testConfig();
    const a = cm('a');
    config.recorder.event(a, { type: 'Normal', reason: 'Seen', note: 'saw it' });
    assert.deepEqual(config.recorder.events, [newEvent(a, 'Normal', 'Seen', 'saw it')]);
    assert.deepEqual(config.recorder.events[0]?.regarding, { kind: 'ConfigMap', namespace: 'ns', name: 'a' });

    config.tracker.trackObject(a, binding);
    config.tracker.trackReference(
      { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'ns', selector: 'app=web' },
      { ...binding, name: 'c' },
    );
    assert.deepEqual(config.tracker.tracks, [
      newTrackRequest(a, binding),
      {
        tracked: { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'ns', selector: 'app=web' },
        by: { ...binding, name: 'c' },
      },
    ]);
    assert.deepEqual(config.tracker.tracks[0]?.tracked, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      namespace: 'ns',
      name: 'a',
    });
    const observers = config.tracker
      .getObservers(cm('a'))
      .map((r) => r.name)
      .sort();
    assert.deepEqual(observers, ['b', 'c']);
    assert.deepEqual(
      config.tracker.getObservers({ ...cm('z'), metadata: { name: 'z', namespace: 'ns' } }),
      [],
    );
  });
});
