import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { ControlPlane, skipE2E } from '@bindery/controlplane';
import { KubeClient } from './client.ts';
import type { Event } from './event-builder.ts';
import { EventRecorder } from './events.ts';
import { parseMicroTime } from './micro-time.ts';
import type { KubeObject } from './object.ts';

const ns = 'events-e2e';
const microTime = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

/** A core/v1 Event: the same objects, seen through the old API (`kubectl describe` reads these). */
interface CoreEvent extends KubeObject {
  involvedObject: { apiVersion?: string; kind?: string; name?: string; namespace?: string; uid?: string };
  reason?: string;
  message?: string;
  type?: string;
  action?: string;
  eventTime?: string;
  reportingComponent?: string;
  reportingInstance?: string;
  series?: { count?: number; lastObservedTime?: string };
}

describe('EventRecorder against a real API server', { skip: skipE2E }, () => {
  let cp: ControlPlane;
  let client: KubeClient;
  let recorder: EventRecorder;
  const errors: unknown[] = [];

  before(
    async () => {
      cp = new ControlPlane();
      await cp.start();
      client = new KubeClient({ kubeConfig: cp.kubeConfig() });
      await client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
      recorder = new EventRecorder({
        client,
        reportingController: 'bindery.dev/e2e',
        reportingInstance: 'e2e-1',
        onError: (err) => errors.push(err),
      });
    },
    { timeout: 30 * 60_000 }, // the first run builds the binaries
  );

  after(async () => {
    await recorder?.shutdown();
    await client?.close();
    await cp?.stop();
  });

  const configMap = (name: string): Promise<KubeObject> =>
    client.create({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name, namespace: ns },
      data: { k: 'v' },
    });

  async function eventsAbout(obj: KubeObject, namespace = ns): Promise<Event[]> {
    const list = await client.list<Event>({ apiVersion: 'events.k8s.io/v1', kind: 'Event' }, { namespace });
    return list.items.filter((e) => e.regarding.uid === obj.metadata.uid);
  }

  it('writes an events.k8s.io/v1 Event with every field', async () => {
    const cm = await configMap('plain');
    const before = Date.now();
    recorder.event(cm, { type: 'Normal', reason: 'Synced', action: 'Reconcile', note: 'projected 3 keys' });
    await recorder.flush();
    const events = await eventsAbout(cm);
    assert.equal(events.length, 1);
    const e = events[0];
    assert.ok(e);
    assert.equal(e.metadata.namespace, ns);
    assert.match(e.metadata.name ?? '', /^plain\.[0-9a-f]+$/);
    assert.deepEqual(e.regarding, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      name: 'plain',
      namespace: ns,
      uid: cm.metadata.uid,
      resourceVersion: cm.metadata.resourceVersion,
    });
    assert.equal(e.type, 'Normal');
    assert.equal(e.reason, 'Synced');
    assert.equal(e.action, 'Reconcile');
    assert.equal(e.note, 'projected 3 keys');
    assert.equal(e.reportingController, 'bindery.dev/e2e');
    assert.equal(e.reportingInstance, 'e2e-1');
    assert.match(e.eventTime, microTime);
    const at = parseMicroTime(e.eventTime) ?? 0;
    assert.ok(at >= before && at <= Date.now(), 'eventTime is when it was recorded');
    assert.equal(e.series, undefined);
    assert.deepEqual(errors, []);
  });

  it('folds five identical events into one Event with series.count 5', async () => {
    const cm = await configMap('burst');
    // All five in one tick: the create carries the series.
    for (let i = 0; i < 5; i++) {
      recorder.event(cm, { type: 'Warning', reason: 'Repeated', action: 'Reconcile', note: 'same thing' });
    }
    await recorder.flush();
    let events = await eventsAbout(cm);
    assert.equal(events.length, 1, 'one Event, not five');
    assert.equal(events[0]?.series?.count, 5);
    assert.match(events[0]?.series?.lastObservedTime ?? '', microTime);

    // Spread out: the first is created alone, the repeats are patched into its series.
    const spread = await configMap('spread');
    recorder.event(spread, { type: 'Warning', reason: 'Repeated', action: 'Reconcile', note: 'same thing' });
    await recorder.flush();
    assert.equal((await eventsAbout(spread))[0]?.series, undefined);
    const createdName = (await eventsAbout(spread))[0]?.metadata.name;
    for (let i = 0; i < 4; i++) {
      await sleep(10);
      recorder.event(spread, {
        type: 'Warning',
        reason: 'Repeated',
        action: 'Reconcile',
        note: 'same thing',
      });
    }
    await recorder.flush();
    events = await eventsAbout(spread);
    assert.equal(events.length, 1);
    assert.equal(events[0]?.metadata.name, createdName, 'the same Event, patched');
    assert.equal(events[0]?.series?.count, 5);
    const first = parseMicroTime(events[0]?.eventTime ?? '') ?? 0;
    const last = parseMicroTime(events[0]?.series?.lastObservedTime ?? '') ?? 0;
    assert.ok(last - first >= 40, `lastObservedTime (${last - first} ms after eventTime) is the last repeat`);

    // A different note is a different event.
    recorder.event(spread, {
      type: 'Warning',
      reason: 'Repeated',
      action: 'Reconcile',
      note: 'another thing',
    });
    await recorder.flush();
    assert.equal((await eventsAbout(spread)).length, 2);
    assert.deepEqual(errors, []);
  });

  it('shows a Warning through the core/v1 API as kubectl describe finds it', async () => {
    const cm = await configMap('warned');
    const secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'db', namespace: ns, uid: 'not-real' },
    };
    recorder.event(cm, {
      type: 'Warning',
      reason: 'ProjectionFailed',
      action: 'Binding',
      note: 'secret "db" not found',
      related: secret,
    });
    recorder.event(cm, {
      type: 'Warning',
      reason: 'ProjectionFailed',
      action: 'Binding',
      note: 'secret "db" not found',
      related: secret,
    });
    await recorder.flush();
    // The field selector `kubectl describe` uses.
    const selector = [
      `involvedObject.kind=ConfigMap`,
      `involvedObject.name=warned`,
      `involvedObject.namespace=${ns}`,
      `involvedObject.uid=${cm.metadata.uid ?? ''}`,
    ].join(',');
    const core = await client.list<CoreEvent>(
      { apiVersion: 'v1', kind: 'Event' },
      { namespace: ns, fieldSelector: selector },
    );
    assert.equal(core.items.length, 1);
    const e = core.items[0];
    assert.ok(e);
    assert.equal(e.type, 'Warning');
    assert.equal(e.reason, 'ProjectionFailed');
    assert.equal(e.message, 'secret "db" not found');
    assert.equal(e.action, 'Binding');
    assert.equal(e.reportingComponent, 'bindery.dev/e2e');
    assert.equal(e.reportingInstance, 'e2e-1');
    assert.deepEqual(
      {
        kind: e.involvedObject.kind,
        name: e.involvedObject.name,
        namespace: e.involvedObject.namespace,
        uid: e.involvedObject.uid,
      },
      { kind: 'ConfigMap', name: 'warned', namespace: ns, uid: cm.metadata.uid },
    );
    assert.match(e.eventTime ?? '', microTime);
    assert.equal(e.series?.count, 2);
    assert.equal((e['related'] as { name?: string } | undefined)?.name, 'db');

    const warnings = await client.list<CoreEvent>(
      { apiVersion: 'v1', kind: 'Event' },
      { namespace: ns, fieldSelector: `type=Warning,involvedObject.uid=${cm.metadata.uid ?? ''}` },
    );
    assert.equal(warnings.items.length, 1);
  });

  it('records events about cluster-scoped objects in default, and objects with any name', async () => {
    const role = await client.create({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'system:bindery:e2e' },
      rules: [],
    });
    recorder.event(role, { type: 'Normal', reason: 'Aggregated', note: 'ok' });
    await recorder.flush();
    const events = await eventsAbout(role, 'default');
    assert.equal(events.length, 1);
    assert.equal(events[0]?.metadata.namespace, 'default');
    assert.equal(events[0]?.regarding.namespace, undefined);
    assert.equal(events[0]?.regarding.name, 'system:bindery:e2e');
    assert.match(events[0]?.metadata.name ?? '', /^system-bindery-e2e\.[0-9a-f]+$/);
    assert.equal(events[0]?.action, 'Aggregated', 'the action defaults to the reason');
    assert.deepEqual(errors, []);
  });

  it('cuts a long note to what the API server accepts', async () => {
    const cm = await configMap('long');
    recorder.event(cm, { type: 'Normal', reason: 'Long', note: '€'.repeat(2_000) });
    await recorder.flush();
    const [e] = await eventsAbout(cm);
    assert.ok(e, `written (errors: ${errors.map(String).join('; ')})`);
    assert.equal(e.note, '€'.repeat(341), '1023 bytes: a fourth of the 342nd character would not fit');
    assert.deepEqual(errors, []);
  });

  it('reports what the API server rejects, without throwing', async () => {
    const own: unknown[] = [];
    const denied = new EventRecorder({
      client,
      reportingController: 'bindery.dev/e2e',
      reportingInstance: 'e2e-2',
      onError: (err) => own.push(err),
    });
    // A namespace that does not exist: the create is refused (404), not retried.
    denied.event(
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'ghost', namespace: 'no-such-namespace', uid: 'u' },
      },
      { type: 'Normal', reason: 'Nowhere', note: 'x' },
    );
    await denied.shutdown();
    assert.equal(own.length, 1);
    assert.match(String(own[0]), /no-such-namespace/);
    assert.equal(denied.stats.failed, 1);
    assert.equal(denied.stats.created, 0);
  });
});
