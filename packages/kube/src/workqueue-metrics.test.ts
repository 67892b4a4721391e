import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Counter, Registry, register } from 'prom-client';
import { FakeClock } from './clock.ts';
import { WorkQueue } from './workqueue.ts';
import { workQueueMetricNames as names } from './workqueue-metrics.ts';

/** A sample as prom-client gives it; histograms name their _bucket, _sum and _count samples. */
interface Series {
  value: number;
  labels: Partial<Record<string, string | number>>;
  metricName?: string;
}

/** The value of one series of `metric` for queue `name` (`suffix` picks a histogram's _sum/_count/_bucket). */
async function value(
  registry: Registry,
  metric: string,
  name: string,
  suffix = '',
  le?: number,
): Promise<number | undefined> {
  const found = registry.getSingleMetric(metric);
  assert.ok(found, `${metric} is registered`);
  const { values } = await found.get();
  return (values as Series[]).find(
    (v) =>
      v.labels['name'] === name &&
      (v.metricName ?? metric) === metric + suffix &&
      (le === undefined || v.labels['le'] === le),
  )?.value;
}

describe('work queue metrics', () => {
  it('counts adds (not duplicates), depth and retries', async () => {
    const registry = new Registry();
    const clock = new FakeClock();
    const queue = new WorkQueue({ name: 'q', metrics: registry, clock });
    assert.equal(await value(registry, names.adds, 'q'), 0);
    assert.equal(await value(registry, names.depth, 'q'), 0);

    queue.add('a');
    queue.add('b');
    queue.add('a');
    assert.equal(await value(registry, names.adds, 'q'), 2);
    assert.equal(await value(registry, names.depth, 'q'), 2);

    await queue.get();
    assert.equal(await value(registry, names.depth, 'q'), 1);
    queue.add('a'); // dirty while processing: an add, and depth counts it
    assert.equal(await value(registry, names.adds, 'q'), 3);
    assert.equal(await value(registry, names.depth, 'q'), 2);

    queue.addAfter('c', 10);
    queue.addRateLimited('d');
    queue.addAfter('e', 0);
    assert.equal(await value(registry, names.retries, 'q'), 3);
    assert.equal(await value(registry, names.adds, 'q'), 4, 'e was added; c and d wait');
    clock.advance(10);
    assert.equal(await value(registry, names.adds, 'q'), 6);
    assert.equal(await value(registry, names.depth, 'q'), 5, 'b, a (dirty), e, c, d');
    queue.shutDown();
  });

  it('observes queue and work durations in seconds, on the queue clock', async () => {
    const registry = new Registry();
    const clock = new FakeClock(1_000_000);
    const queue = new WorkQueue({ name: 'q', metrics: registry, clock });
    queue.add('a');
    clock.advance(250);
    queue.add('a'); // a duplicate does not restart the wait
    clock.advance(250);
    await queue.get();
    clock.advance(2000);
    queue.done('a');
    assert.equal(await value(registry, names.queueDuration, 'q', '_sum'), 0.5);
    assert.equal(await value(registry, names.queueDuration, 'q', '_count'), 1);
    assert.equal(await value(registry, names.queueDuration, 'q', '_bucket', 0.1), 0);
    assert.equal(await value(registry, names.queueDuration, 'q', '_bucket', 1), 1);
    assert.equal(await value(registry, names.workDuration, 'q', '_sum'), 2);
    assert.equal(await value(registry, names.workDuration, 'q', '_bucket', 1), 0);
    assert.equal(await value(registry, names.workDuration, 'q', '_bucket', 10), 1);
  });

  it("has client-go's buckets: 10 ns to 10 s, ten of them", async () => {
    const registry = new Registry();
    new WorkQueue({ name: 'q', metrics: registry });
    const found = registry.getSingleMetric(names.workDuration);
    assert.ok(found);
    const values = (await found.get()).values as Series[];
    const bounds = values.filter((v) => v.metricName?.endsWith('_bucket')).map((v) => v.labels['le']);
    assert.deepEqual(bounds, [1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1, 10, '+Inf']);
  });

  it('reports unfinished work and the longest running processor when scraped', async () => {
    const registry = new Registry();
    const clock = new FakeClock();
    const queue = new WorkQueue({ name: 'q', metrics: registry, clock });
    queue.add('a');
    queue.add('b');
    await queue.get();
    clock.advance(3000);
    await queue.get();
    clock.advance(1000);
    assert.equal(await value(registry, names.unfinishedWork, 'q'), 4 + 1);
    assert.equal(await value(registry, names.longestRunningProcessor, 'q'), 4);
    queue.done('a');
    const exposition = await registry.getSingleMetricAsString(names.longestRunningProcessor);
    assert.match(exposition, /^workqueue_longest_running_processor_seconds\{name="q"\} 1$/m);

    queue.shutDown();
    clock.advance(1000);
    assert.equal(
      await value(registry, names.unfinishedWork, 'q'),
      2,
      'in-flight work is reported after shutdown',
    );
    queue.done('b');
    assert.equal(await value(registry, names.unfinishedWork, 'q'), 0);
    assert.equal(await value(registry, names.longestRunningProcessor, 'q'), 0);
  });

  it('lets several queues share one registry, each under its own name', async () => {
    const registry = new Registry();
    const one = new WorkQueue({ name: 'one', metrics: registry });
    const two = new WorkQueue({ name: 'two', metrics: registry });
    one.add('a');
    two.add('a');
    two.add('b');
    assert.equal(await value(registry, names.adds, 'one'), 1);
    assert.equal(await value(registry, names.adds, 'two'), 2);
    assert.equal(await value(registry, names.depth, 'two'), 2);
    // A registry cleared and reused gets the metrics again.
    registry.clear();
    const three = new WorkQueue({ name: 'three', metrics: registry });
    three.add('x');
    assert.equal(await value(registry, names.adds, 'three'), 1);
    for (const q of [one, two, three]) q.shutDown();
  });

  it('reuses a metric registered by someone else, and refuses one of another type', async () => {
    const registry = new Registry();
    new Counter({ name: names.adds, help: 'theirs', labelNames: ['name'], registers: [registry] });
    const queue = new WorkQueue({ name: 'q', metrics: registry });
    queue.add('a');
    assert.equal(await value(registry, names.adds, 'q'), 1);

    const other = new Registry();
    new Counter({ name: names.depth, help: 'not a gauge', registers: [other] });
    assert.throws(
      () => new WorkQueue({ name: 'q', metrics: other }),
      /workqueue_depth is already registered on this registry, and is not a Gauge/,
    );
  });

  it('registers nothing on the global registry by default', () => {
    const queue = new WorkQueue({ name: 'quiet' });
    queue.add('a');
    assert.equal(register.getSingleMetric(names.adds), undefined);
  });
});
