import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isNotFound } from '@bindery/kube';
import type { KubeObject } from '@bindery/kube';
import { testConfig } from './config.ts';
import { induceFailure, testEpoch } from './fake-client.ts';
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

  it('reads through the client itself when no apiGivenObjects are given', async () => {
    const config = testConfig({ givenObjects: [cm('a')] });
    assert.equal(config.apiReader, config.client);
    await config.client.create(cm('b'));
    assert.equal(
      (await config.apiReader.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'ns', name: 'b' }))
        .metadata.name,
      'b',
    );
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
