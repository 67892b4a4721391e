import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildEvent } from './event-builder.ts';
import type { EventOptions } from './event-builder.ts';
import { EventCorrelator, eventKey } from './event-correlator.ts';
import type { KubeObject } from './object.ts';
import { build, configMap, source, t0, warning } from './events.test-helpers.ts';

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
