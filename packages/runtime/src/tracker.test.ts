import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '@bindery/kube';
import { Tracker, enqueueTracked } from './tracker.ts';
import type { Config } from './config.ts';
import type { SetupContext } from './reconciler.ts';

const binding = { apiVersion: 'servicebinding.io/v1', kind: 'ServiceBinding', namespace: 'ns', name: 'b' };
const other = { apiVersion: 'example.com/v1', kind: 'Other', namespace: 'ns', name: 'o' };

function secret(name: string, labels?: Record<string, string>, namespace = 'ns'): KubeObject {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace, ...(labels ? { labels } : {}) } };
}

function manualClock(): { now(): number; advance(ms: number): void } {
  let t = Date.UTC(2024, 0, 1);
  return { now: () => t, advance: (ms) => (t += ms) };
}

describe('Tracker', () => {
  it('finds observers of an object tracked by name, in any version of its group', () => {
    const tracker = new Tracker({ clock: manualClock() });
    tracker.trackReference(
      { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'ns', name: 'web' },
      binding,
    );
    const deployment = (apiVersion: string, namespace = 'ns', name = 'web'): KubeObject => ({
      apiVersion,
      kind: 'Deployment',
      metadata: { name, namespace },
    });
    assert.deepEqual(tracker.getObservers(deployment('apps/v1beta2')), [{ namespace: 'ns', name: 'b' }]);
    assert.deepEqual(tracker.getObservers(deployment('extensions/v1beta1')), []);
    assert.deepEqual(tracker.getObservers(deployment('apps/v1', 'other')), []);
    assert.deepEqual(tracker.getObservers(deployment('apps/v1', 'ns', 'api')), []);
  });

  it('finds observers of objects a selector matches', () => {
    const tracker = new Tracker({ clock: manualClock() });
    tracker.trackReference(
      { apiVersion: 'v1', kind: 'Secret', namespace: 'ns', selector: 'app=web' },
      binding,
    );
    assert.deepEqual(tracker.getObservers(secret('s', { app: 'web' })), [{ namespace: 'ns', name: 'b' }]);
    assert.deepEqual(tracker.getObservers(secret('s', { app: 'api' })), []);
    assert.deepEqual(tracker.getObservers(secret('s')), []);
    assert.deepEqual(tracker.getObservers(secret('s', { app: 'web' }, 'elsewhere')), []);
  });

  it('tracks objects and deduplicates observers', () => {
    const tracker = new Tracker({ clock: manualClock() });
    tracker.trackObject(secret('s'), binding);
    tracker.trackObject(secret('s'), binding);
    tracker.trackReference({ apiVersion: 'v1', kind: 'Secret', namespace: 'ns', selector: '' }, binding);
    assert.deepEqual(tracker.getObservers(secret('s')), [{ namespace: 'ns', name: 'b' }]);
    assert.throws(() => tracker.trackObject({ metadata: { name: 'x' } }, binding), /apiVersion, kind/);
    assert.throws(
      () => tracker.trackReference({ apiVersion: 'v1', kind: 'Secret' }, binding),
      /name or a selector/,
    );
  });

  it('forgets an entry whose lease expired, and a renewed one lives on', () => {
    const clock = manualClock();
    const tracker = new Tracker({ clock, leaseMs: 1000 });
    tracker.trackObject(secret('s'), binding);
    tracker.trackObject(secret('t'), binding);
    clock.advance(600);
    tracker.trackObject(secret('t'), binding);
    clock.advance(600);
    assert.deepEqual(tracker.getObservers(secret('s')), []);
    assert.deepEqual(tracker.getObservers(secret('t')), [{ namespace: 'ns', name: 'b' }]);
  });

  it('keeps several observers of one object, each with its own lease', () => {
    const clock = manualClock();
    const tracker = new Tracker({ clock, leaseMs: 1000 });
    const second = { ...binding, name: 'b2' };
    tracker.trackObject(secret('s'), binding);
    clock.advance(600);
    tracker.trackObject(secret('s'), second);
    tracker.trackObject(secret('s'), second);
    assert.deepEqual(tracker.getObservers(secret('s')), [
      { namespace: 'ns', name: 'b' },
      { namespace: 'ns', name: 'b2' },
    ]);
    clock.advance(600);
    assert.deepEqual(tracker.getObservers(secret('s')), [{ namespace: 'ns', name: 'b2' }]);
    clock.advance(600);
    assert.deepEqual(tracker.getObservers(secret('s')), []);
    tracker.trackObject(secret('s'), binding);
    assert.deepEqual(tracker.getObservers(secret('s')), [{ namespace: 'ns', name: 'b' }]);
  });

  it('enqueueTracked only enqueues observers of the controller type', () => {
    const tracker = new Tracker({ clock: manualClock() });
    tracker.trackObject(secret('s'), binding);
    tracker.trackObject(secret('s'), other);
    const config = { tracker } as unknown as Config;
    const map = enqueueTracked({
      config,
      resourceType: { apiVersion: 'servicebinding.io/v1beta1', kind: 'ServiceBinding' },
    } satisfies Pick<SetupContext, 'config' | 'resourceType'>);
    assert.deepEqual(map(secret('s')), [{ namespace: 'ns', name: 'b' }]);
    assert.equal(tracker.getObservers(secret('s')).length, 2);
  });
});
