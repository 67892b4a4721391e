import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { counterOn, gaugeOn, histogramOn } from './metric-families.ts';

describe('metric families', () => {
  it('registers a family once per registry and hands the same one out again', () => {
    const registry = new Registry();
    const config = { name: 'things_total', help: 'Things.', labelNames: ['kind'] as const };
    const first = counterOn(registry, config);
    assert.equal(counterOn(registry, config), first);
    assert.notEqual(counterOn(new Registry(), config), first);
    const gauge = gaugeOn(registry, { name: 'things', help: 'Things now.' });
    assert.equal(gaugeOn(registry, { name: 'things', help: 'Things now.' }), gauge);
    const histogram = histogramOn(registry, { name: 'thing_seconds', help: 'Time.', buckets: [1] });
    assert.equal(histogramOn(registry, { name: 'thing_seconds', help: 'Time.' }), histogram);
    assert.equal(registry.getMetricsAsArray().length, 3);
  });

  it('refuses a name already registered as another type', () => {
    const registry = new Registry();
    counterOn(registry, { name: 'things', help: 'Things.' });
    assert.throws(() => gaugeOn(registry, { name: 'things', help: 'Things now.' }), /things .*not a Gauge/);
  });
});
