import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeClock } from './clock.ts';
import { StatusError } from './errors.ts';
import type { Event } from './event-builder.ts';
import { EventBroadcaster, EventRecorder } from './events.ts';
import type { EventClient } from './events.ts';
import { formatMicroTime } from './micro-time.ts';
import type { KubeObject, ObjectRef } from './object.ts';
import { configMap, source, t0, warning } from './events.test-helpers.ts';

// ---- the broadcaster, with a fake client and a manual clock ----

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function elapse(clock: FakeClock, ms: number, step = 100): Promise<void> {
  await settle();
  for (let t = 0; t < ms; t += step) {
    clock.advance(Math.min(step, ms - t));
    await settle();
  }
}

type Write = { verb: 'create'; event: Event } | { verb: 'patch'; ref: ObjectRef; patch: unknown; at: number };

class FakeEvents implements EventClient {
  readonly writes: Write[] = [];
  readonly stored = new Map<string, Event>();
  fault: ((verb: 'create' | 'patch') => Error | undefined) | undefined;
  readonly clock: FakeClock;

  constructor(clock: FakeClock) {
    this.clock = clock;
  }

  create<T extends KubeObject>(obj: T): Promise<T> {
    return (async () => {
      await Promise.resolve();
      const event = structuredClone(obj) as unknown as Event;
      this.writes.push({ verb: 'create', event });
      const failure = this.fault?.('create');
      if (failure) throw failure;
      const key = `${event.metadata.namespace ?? ''}/${event.metadata.name ?? ''}`;
      if (this.stored.has(key))
        throw new StatusError({ code: 409, status: { reason: 'AlreadyExists' }, request: key });
      this.stored.set(key, event);
      return obj;
    })();
  }

  patch<T extends KubeObject = KubeObject>(ref: ObjectRef, patch: unknown): Promise<T> {
    return (async () => {
      await Promise.resolve();
      this.writes.push({ verb: 'patch', ref, patch: structuredClone(patch), at: this.clock.now() });
      const failure = this.fault?.('patch');
      if (failure) throw failure;
      const key = `${ref.namespace ?? ''}/${ref.name}`;
      const event = this.stored.get(key);
      if (!event) throw new StatusError({ code: 404, request: key });
      Object.assign(event, patch);
      return event as unknown as T;
    })();
  }

  get creates(): Event[] {
    return this.writes.flatMap((w) => (w.verb === 'create' ? [w.event] : []));
  }

  get patches(): Array<Extract<Write, { verb: 'patch' }>> {
    return this.writes.flatMap((w) => (w.verb === 'patch' ? [w] : []));
  }
}

function setup(options: Partial<ConstructorParameters<typeof EventBroadcaster>[0]> = {}): {
  clock: FakeClock;
  api: FakeEvents;
  recorder: EventRecorder;
  errors: unknown[];
} {
  const clock = new FakeClock(t0);
  const api = new FakeEvents(clock);
  const errors: unknown[] = [];
  const recorder = new EventRecorder({
    ...source,
    client: api,
    clock,
    retryDelayMs: 1_000,
    onError: (err) => errors.push(err),
    ...options,
  });
  return { clock, api, recorder, errors };
}

describe('EventRecorder', () => {
  it('returns at once and writes in the background', async () => {
    const { api, recorder } = setup();
    recorder.event(configMap(), warning);
    assert.equal(api.writes.length, 0, 'nothing written before the caller yields');
    await recorder.flush();
    assert.equal(api.creates.length, 1);
    assert.equal(api.creates[0]?.reason, 'ProjectionFailed');
    assert.equal(api.creates[0]?.series, undefined);
    assert.equal(recorder.stats.created, 1);
  });

  it('folds repeats recorded before the write into the create: one Event, series.count 5', async () => {
    const { api, recorder } = setup();
    for (let i = 0; i < 5; i++) recorder.event(configMap(), warning);
    await recorder.flush();
    assert.equal(api.writes.length, 1, 'one write in all');
    assert.deepEqual(api.creates[0]?.series, { count: 5, lastObservedTime: formatMicroTime(t0) });
    assert.equal(recorder.stats.recorded, 5);
  });

  it('patches a series at most once per patch interval, and the final count on flush', async () => {
    const { clock, api, recorder } = setup({ seriesPatchIntervalMs: 30_000 });
    recorder.event(configMap(), warning);
    await elapse(clock, 100);
    assert.equal(api.creates.length, 1);
    // A repeat every second for 95 seconds.
    for (let s = 1; s <= 95; s++) {
      recorder.event(configMap(), warning);
      await elapse(clock, 1_000);
    }
    const patches = api.patches;
    assert.equal(patches.length, 3, `patches at ${patches.map((p) => p.at - t0).join(', ')}`);
    for (let i = 1; i < patches.length; i++) {
      assert.ok((patches[i]?.at ?? 0) - (patches[i - 1]?.at ?? 0) >= 30_000);
    }
    assert.deepEqual(patches[0]?.patch, {
      series: { count: 31, lastObservedTime: formatMicroTime(t0 + 29_100) },
    });
    await recorder.shutdown();
    const last = api.patches.at(-1);
    assert.deepEqual(last?.patch, { series: { count: 96, lastObservedTime: formatMicroTime(t0 + 94_100) } });
    assert.equal(api.patches.length, 4);
    assert.equal(clock.pendingTimers, 0, 'no timers left behind');
    const stored = [...api.stored.values()];
    assert.equal(stored.length, 1);
    assert.equal(stored[0]?.series?.count, 96);
  });

  it('drops events beyond the per-object burst and counts them', async () => {
    const { api, recorder } = setup();
    for (let i = 0; i < 30; i++) recorder.event(configMap(), { ...warning, note: `attempt ${i}` });
    await recorder.flush();
    assert.equal(api.creates.length, 25);
    assert.equal(recorder.stats.dropped, 5);
    assert.equal(recorder.stats.droppedByReason['object-rate-limited'], 5);
  });

  it('drops when the queue is full rather than grow without bound', async () => {
    const { api, recorder } = setup({ maxQueued: 3 });
    for (let i = 0; i < 5; i++) recorder.event(configMap(`o${i}`, `u${i}`), warning);
    await recorder.flush();
    assert.equal(api.creates.length, 3);
    assert.equal(recorder.stats.droppedByReason['queue-full'], 2);
    assert.equal(recorder.stats.dropped, 2);
  });

  it('never throws on bad input; reports and counts it', async () => {
    const { api, recorder, errors } = setup();
    assert.doesNotThrow(() => recorder.event({ metadata: {} }, warning));
    assert.doesNotThrow(() => recorder.event(configMap(), { ...warning, reason: '' }));
    assert.doesNotThrow(() => recorder.event(null as unknown as KubeObject, warning));
    await recorder.flush();
    assert.equal(api.writes.length, 0);
    assert.equal(recorder.stats.droppedByReason.invalid, 3);
    assert.equal(errors.length, 3);
  });

  it('retries a write that failed with a 5xx, then gives up and reports', async () => {
    const { clock, api, recorder, errors } = setup({ maxAttempts: 3 });
    let failures = 2;
    api.fault = () => (failures-- > 0 ? new StatusError({ code: 503, request: 'POST events' }) : undefined);
    recorder.event(configMap(), warning);
    await elapse(clock, 5_000);
    assert.equal(api.creates.length, 3, 'two failures and a success');
    assert.equal(recorder.stats.created, 1);
    assert.deepEqual(errors, []);

    api.fault = () => new StatusError({ code: 500, request: 'POST events' });
    recorder.event(configMap('other', 'u2'), warning);
    await elapse(clock, 5_000);
    assert.equal(api.creates.length, 6);
    assert.equal(recorder.stats.failed, 1);
    assert.equal(errors.length, 1);
  });

  it('does not retry what the server rejected', async () => {
    const { clock, api, recorder, errors } = setup();
    api.fault = () => new StatusError({ code: 422, status: { reason: 'Invalid' }, request: 'POST events' });
    recorder.event(configMap(), warning);
    await elapse(clock, 5_000);
    assert.equal(api.creates.length, 1);
    assert.equal(errors.length, 1);
    assert.equal(recorder.stats.droppedByReason['write-failed'], 1);
  });

  it('recreates an Event that vanished before its series patch', async () => {
    const { clock, api, recorder } = setup({ seriesPatchIntervalMs: 1_000 });
    recorder.event(configMap(), warning);
    await elapse(clock, 100);
    api.stored.clear(); // deleted by the event TTL, or by hand
    recorder.event(configMap(), warning);
    await recorder.flush();
    assert.equal(api.patches.length, 1);
    assert.equal(api.creates.length, 2);
    assert.equal(api.creates[1]?.metadata.name, api.creates[0]?.metadata.name);
    assert.equal(api.creates[1]?.series?.count, 2);
  });

  it('skips a series patch that conflicts', async () => {
    const { clock, api, recorder, errors } = setup({ seriesPatchIntervalMs: 1_000 });
    recorder.event(configMap(), warning);
    await elapse(clock, 100);
    api.fault = (verb) =>
      verb === 'patch'
        ? new StatusError({ code: 409, status: { reason: 'Conflict' }, request: 'PATCH' })
        : undefined;
    recorder.event(configMap(), warning);
    await recorder.flush();
    assert.equal(api.patches.length, 1);
    assert.deepEqual(errors, []);
    assert.equal(recorder.stats.failed, 0);
  });

  it('drops events after shutdown, and a shutdown that is given up on abandons the queue', async () => {
    const { clock, api, recorder } = setup();
    api.fault = () => new StatusError({ code: 503, request: 'POST events' });
    recorder.event(configMap('a', 'ua'), warning);
    recorder.event(configMap('b', 'ub'), warning);
    const giveUp = new AbortController();
    const done = recorder.shutdown(giveUp.signal);
    await elapse(clock, 100);
    giveUp.abort();
    await done;
    recorder.event(configMap('c', 'uc'), warning);
    assert.equal(recorder.stats.droppedByReason.shutdown, 2, 'b (still queued) and c (after shutdown)');
    assert.equal(recorder.stats.created, 0);
  });

  it('shares one queue and one set of limits between recorders of a broadcaster', async () => {
    const clock = new FakeClock(t0);
    const api = new FakeEvents(clock);
    const broadcaster = new EventBroadcaster({ client: api, clock, globalBurst: 2 });
    const one = broadcaster.newRecorder({ reportingController: 'one', reportingInstance: 'x' });
    const two = broadcaster.newRecorder({ reportingController: 'two', reportingInstance: 'x' });
    one.event(configMap('a', 'ua'), warning);
    two.event(configMap('b', 'ub'), warning);
    two.event(configMap('c', 'uc'), warning);
    await one.shutdown(); // a recorder of a shared broadcaster only flushes
    assert.deepEqual(
      api.creates.map((e) => e.reportingController),
      ['one', 'two'],
    );
    assert.equal(broadcaster.stats.droppedByReason['global-rate-limited'], 1);
    two.event(configMap('a', 'ua'), { ...warning, note: 'later' });
    assert.equal(broadcaster.stats.droppedByReason['global-rate-limited'], 2, 'no token yet');
    clock.advance(100); // the global bucket refills one token per 100 ms by default
    two.event(configMap('a', 'ua'), { ...warning, note: 'later' });
    await broadcaster.shutdown();
    assert.equal(api.creates.length, 3);
    assert.equal(api.creates[2]?.note, 'later');
  });

  it('refuses a reporting controller the API server would reject', () => {
    assert.throws(
      () =>
        new EventRecorder({
          client: new FakeEvents(new FakeClock(0)),
          reportingController: 'no spaces',
          reportingInstance: 'x',
        }),
      /reportingController/,
    );
  });
});
