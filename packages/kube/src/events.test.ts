import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeClock } from './clock.ts';
import { StatusError } from './errors.ts';
import {
  EventBroadcaster,
  EventCorrelator,
  EventRecorder,
  TokenBucket,
  buildEvent,
  eventKey,
  eventName,
  referenceTo,
  truncateNote,
  validateEventSource,
} from './events.ts';
import type { Event, EventClient, EventOptions } from './events.ts';
import { formatMicroTime } from './leader-election.ts';
import type { KubeObject, ObjectRef } from './object.ts';

const source = { reportingController: 'bindery.dev/test', reportingInstance: 'pod-1' };
const t0 = Date.UTC(2024, 0, 1);

function configMap(name = 'web', uid = 'uid-1', namespace: string | null = 'apps'): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, uid, resourceVersion: '42', ...(namespace ? { namespace } : {}) },
    data: { secret: 'never copied' },
  };
}

const warning: EventOptions = {
  type: 'Warning',
  reason: 'ProjectionFailed',
  action: 'Binding',
  note: 'no such secret',
};

function build(regarding: KubeObject = configMap(), options: EventOptions = warning, now = t0): Event {
  const event = buildEvent(regarding, options, source, now, () => 0.5);
  if (event instanceof Error) throw event;
  return event;
}

describe('truncateNote', () => {
  it('keeps notes up to 1 KiB', () => {
    assert.equal(truncateNote('x'.repeat(1024)), 'x'.repeat(1024));
  });

  it('cuts longer notes to 1024 bytes', () => {
    assert.equal(truncateNote('x'.repeat(5000)), 'x'.repeat(1024));
  });

  it('never cuts a character in two', () => {
    // 'é' is 2 bytes, '€' 3, '😀' 4: 1023 ASCII bytes leave room for none of them.
    for (const ch of ['é', '€', '😀']) {
      const cut = truncateNote(`${'x'.repeat(1023)}${ch}${ch}`);
      assert.equal(cut, 'x'.repeat(1023), ch);
      assert.ok(Buffer.byteLength(cut) <= 1024);
    }
    const emoji = truncateNote('😀'.repeat(300));
    assert.equal(emoji, '😀'.repeat(256));
    assert.equal(Buffer.byteLength(emoji), 1024);
  });
});

describe('referenceTo', () => {
  it('names the object, its namespace, uid and resourceVersion', () => {
    assert.deepEqual(referenceTo(configMap()), {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      name: 'web',
      namespace: 'apps',
      uid: 'uid-1',
      resourceVersion: '42',
    });
  });
});

describe('eventName', () => {
  it('is <name>.<hex nanoseconds>, like client-go', () => {
    assert.equal(
      eventName('web', 1, () => 0),
      'web.f4240',
    );
    assert.equal(
      eventName('web', t0, () => 0),
      `web.${(BigInt(t0) * 1_000_000n).toString(16)}`,
    );
    assert.notEqual(
      eventName('web', t0, () => 0.1),
      eventName('web', t0, () => 0.2),
    );
  });

  it('makes names of any object a valid DNS subdomain', () => {
    const subdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
    for (const name of [
      'system:controller:Foo',
      'UPPER_case',
      '..x..',
      '-a-',
      ':::',
      'a'.repeat(300),
      'a.-b',
    ]) {
      const out = eventName(name, t0);
      assert.match(out, subdomain, `${name} → ${out}`);
      assert.ok(out.length <= 253, `${out.length}`);
    }
    assert.match(
      eventName('system:controller:Foo', 0, () => 0),
      /^system-controller-foo\./,
    );
    assert.match(
      eventName(':::', 0, () => 0),
      /^event\./,
    );
  });
});

describe('validateEventSource', () => {
  it('accepts qualified names and rejects what the API server would', () => {
    assert.equal(validateEventSource(source), undefined);
    assert.equal(validateEventSource({ ...source, reportingController: 'bindery' }), undefined);
    assert.match(validateEventSource({ ...source, reportingController: '' }) ?? '', /reportingController/);
    assert.match(
      validateEventSource({ ...source, reportingController: 'has space' }) ?? '',
      /reportingController/,
    );
    assert.match(
      validateEventSource({ ...source, reportingController: 'Bad_Prefix/x' }) ?? '',
      /reportingController/,
    );
    assert.match(validateEventSource({ ...source, reportingInstance: '' }) ?? '', /reportingInstance/);
    assert.match(
      validateEventSource({ ...source, reportingInstance: 'x'.repeat(129) }) ?? '',
      /reportingInstance/,
    );
  });
});

describe('buildEvent', () => {
  it('writes an events.k8s.io/v1 Event in the object namespace', () => {
    const related: KubeObject = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'db', namespace: 'apps', uid: 's1' },
    };
    const event = build(configMap(), { ...warning, related });
    assert.deepEqual(event, {
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { name: eventName('web', t0, () => 0.5), namespace: 'apps' },
      eventTime: formatMicroTime(t0),
      reportingController: 'bindery.dev/test',
      reportingInstance: 'pod-1',
      action: 'Binding',
      reason: 'ProjectionFailed',
      type: 'Warning',
      note: 'no such secret',
      regarding: {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        name: 'web',
        namespace: 'apps',
        uid: 'uid-1',
        resourceVersion: '42',
      },
      related: { apiVersion: 'v1', kind: 'Secret', name: 'db', namespace: 'apps', uid: 's1' },
    });
    assert.ok(!JSON.stringify(event).includes('never copied'), 'nothing of the object body is copied');
  });

  it('puts events about cluster-scoped objects in default', () => {
    const event = build(configMap('node-1', 'n1', null));
    assert.equal(event.metadata.namespace, 'default');
    assert.equal(event.regarding.namespace, undefined);
  });

  it('defaults the action to the reason and cuts the note to 1 KiB', () => {
    const event = build(configMap(), { type: 'Normal', reason: 'Synced', note: 'é'.repeat(1000) });
    assert.equal(event.action, 'Synced');
    assert.equal(Buffer.byteLength(event.note), 1024);
  });

  it('explains what the API server would reject', () => {
    const bad = (regarding: KubeObject, options: Partial<EventOptions>): string => {
      const e = buildEvent(regarding, { ...warning, ...options }, source, t0);
      return e instanceof Error ? e.message : 'accepted';
    };
    assert.match(bad({ metadata: { name: 'x' } }, {}), /no kind or name/);
    assert.match(bad(configMap(), { type: 'Info' as 'Normal' }), /type must be Normal or Warning/);
    assert.match(bad(configMap(), { reason: '' }), /reason/);
    assert.match(bad(configMap(), { reason: 'x'.repeat(129) }), /reason/);
    assert.match(bad(configMap(), { action: 'x'.repeat(129) }), /action/);
    assert.match(bad(configMap(), { reason: 'x'.repeat(128) }), /accepted/);
  });
});

describe('eventKey', () => {
  it('is the same for repeats, whatever the time, name or resourceVersion', () => {
    const a = build(configMap(), warning, t0);
    const b = build(
      { ...configMap(), metadata: { ...configMap().metadata, resourceVersion: '43' } },
      warning,
      t0 + 60_000,
    );
    assert.notEqual(a.metadata.name, b.metadata.name);
    assert.equal(eventKey(a), eventKey(b));
  });

  it('differs in each field that makes an event another one', () => {
    const key = eventKey(build());
    const others: Array<[string, KubeObject, EventOptions]> = [
      ['uid', configMap('web', 'uid-2'), warning],
      ['name', configMap('api'), warning],
      ['namespace', configMap('web', 'uid-1', 'other'), warning],
      ['kind', { ...configMap(), kind: 'Secret' }, warning],
      ['type', configMap(), { ...warning, type: 'Normal' }],
      ['reason', configMap(), { ...warning, reason: 'Other' }],
      ['action', configMap(), { ...warning, action: 'Other' }],
      ['note', configMap(), { ...warning, note: 'other' }],
      ['related', configMap(), { ...warning, related: { kind: 'Secret', name: 'db', uid: 's1' } }],
    ];
    for (const [what, regarding, options] of others) {
      assert.notEqual(eventKey(build(regarding, options)), key, what);
    }
    const otherSource = buildEvent(configMap(), warning, { ...source, reportingInstance: 'pod-2' }, t0);
    assert.ok(!(otherSource instanceof Error));
    assert.notEqual(eventKey(otherSource), key, 'reportingInstance');
  });
});

describe('TokenBucket', () => {
  it('allows a burst, then one per refill period', () => {
    const bucket = new TokenBucket(3, 1_000, 0);
    assert.deepEqual(
      [1, 2, 3, 4].map(() => bucket.take(0)),
      [true, true, true, false],
    );
    assert.equal(bucket.take(999), false);
    assert.equal(bucket.take(1_000), true);
    assert.equal(bucket.take(1_000), false);
  });

  it('never holds more than the burst', () => {
    const bucket = new TokenBucket(2, 1_000, 0);
    assert.equal(bucket.tokens(1_000_000), 2);
    assert.deepEqual(
      [1, 2, 3].map(() => bucket.take(1_000_000)),
      [true, true, false],
    );
  });
});

describe('EventCorrelator', () => {
  it('creates the first event and folds identical ones into its series', () => {
    const c = new EventCorrelator({}, t0);
    const first = c.observe(build(), t0);
    assert.equal(first.action, 'create');
    for (let i = 1; i <= 4; i++) {
      const again = c.observe(build(configMap(), warning, t0 + i * 1_000), t0 + i * 1_000);
      assert.equal(again.action, 'series');
      assert.ok(again.action === 'series' && first.action === 'create' && again.entry === first.entry);
    }
    assert.ok(first.action === 'create');
    assert.equal(first.entry.count, 5);
    assert.equal(first.entry.lastObservedTime, t0 + 4_000);
    assert.equal(c.size, 1);
  });

  it('starts a new Event once no repeat came for 6 minutes', () => {
    const c = new EventCorrelator({}, t0);
    c.observe(build(), t0);
    assert.equal(c.observe(build(), t0 + 5 * 60_000).action, 'series');
    // The window runs from the last observation: a steady trickle stays one series.
    assert.equal(c.observe(build(), t0 + 10 * 60_000).action, 'series');
    assert.equal(c.observe(build(), t0 + 16 * 60_000).action, 'create');
  });

  it('rate limits new Events per object: burst 25, then one per 5 minutes', () => {
    const c = new EventCorrelator({}, t0);
    const distinct = (i: number, now: number): string =>
      c.observe(build(configMap(), { ...warning, note: `n${i}` }, now), now).action;
    const first = Array.from({ length: 30 }, (_, i) => distinct(i, t0));
    assert.deepEqual(first, [...Array<string>(25).fill('create'), ...Array<string>(5).fill('drop')]);
    assert.equal(distinct(100, t0 + 4 * 60_000), 'drop');
    assert.equal(distinct(101, t0 + 5 * 60_000), 'create');
    assert.equal(distinct(102, t0 + 5 * 60_000), 'drop');
    // Repeats of an Event that exists cost nothing: they are a counter.
    assert.equal(c.observe(build(configMap(), { ...warning, note: 'n0' }), t0 + 5 * 60_000).action, 'series');
    // Another object has its own bucket.
    assert.equal(c.observe(build(configMap('other', 'uid-2')), t0 + 5 * 60_000).action, 'create');
  });

  it('caps new Events overall', () => {
    const c = new EventCorrelator({ globalBurst: 10, globalRefillMs: 1_000 }, t0);
    const actions = Array.from(
      { length: 12 },
      (_, i) => c.observe(build(configMap(`o${i}`, `u${i}`)), t0).action,
    );
    assert.deepEqual(actions, [...Array<string>(10).fill('create'), 'drop', 'drop']);
    const dropped = c.observe(build(configMap('o99', 'u99')), t0);
    assert.deepEqual(dropped, { action: 'drop', reason: 'global-rate-limited' });
    assert.equal(c.observe(build(configMap('o99', 'u99')), t0 + 1_000).action, 'create');
  });

  it('spaces series patches by the patch interval', () => {
    const c = new EventCorrelator({ seriesPatchIntervalMs: 30_000 }, t0);
    const d = c.observe(build(), t0);
    assert.ok(d.action === 'create');
    assert.equal(c.needsPatch(d.entry), false, 'nothing to patch before the create');
    d.entry.writtenCount = 1;
    d.entry.lastWriteTime = t0;
    c.observe(build(), t0 + 1_000);
    assert.equal(c.needsPatch(d.entry), true);
    assert.equal(c.nextPatchTime(d.entry), t0 + 30_000);
  });

  it('forgets a series whose Event could not be written', () => {
    const c = new EventCorrelator({}, t0);
    const d = c.observe(build(), t0);
    assert.ok(d.action === 'create');
    c.forget(d.entry);
    assert.equal(c.observe(build(), t0 + 1).action, 'create');
  });

  it('remembers at most maxEntries series', () => {
    const c = new EventCorrelator({ maxEntries: 3 }, t0);
    for (let i = 0; i < 5; i++)
      c.observe(build(configMap('web', 'uid-1'), { ...warning, note: `n${i}` }), t0);
    assert.equal(c.size, 3);
  });
});

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
