// Work queue metrics with client-go's names, each with a `name` label (the queue's name), on a
// prom-client Registry the caller passes in. Several queues may share one registry: the metrics
// already registered on it are reused.
import type { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { realClock } from './clock.ts';
import type { Clock } from './clock.ts';
import { counterOn, gaugeOn, histogramOn } from './metric-families.ts';

/** What a WorkQueue tells its metrics; keys are the queue's item keys. */
export interface WorkQueueMetrics {
  /** An item became dirty (a new add, not a duplicate). */
  add(key: unknown): void;
  /** A worker took the item. */
  get(key: unknown): void;
  /** A worker finished the item. */
  done(key: unknown): void;
  /** `addAfter` (and so `addRateLimited`) was called. */
  retry(): void;
  /** The queue stopped intake; in-flight items may still finish. */
  shutDown(): void;
}

/** Records nothing: the default, so that queues in tests never touch a registry. */
export const noWorkQueueMetrics: WorkQueueMetrics = {
  add() {},
  get() {},
  done() {},
  retry() {},
  shutDown() {},
};

export const workQueueMetricNames = {
  adds: 'workqueue_adds_total',
  depth: 'workqueue_depth',
  queueDuration: 'workqueue_queue_duration_seconds',
  workDuration: 'workqueue_work_duration_seconds',
  unfinishedWork: 'workqueue_unfinished_work_seconds',
  longestRunningProcessor: 'workqueue_longest_running_processor_seconds',
  retries: 'workqueue_retries_total',
} as const;

/** client-go's `ExponentialBuckets(10e-9, 10, 10)`: 10 ns to 10 s. */
const durationBuckets = Array.from({ length: 10 }, (_, i) => Number(`1e${i - 8}`));

type Label = 'name';

interface Families {
  adds: Counter<Label>;
  depth: Gauge<Label>;
  queueDuration: Histogram<Label>;
  workDuration: Histogram<Label>;
  unfinishedWork: Gauge<Label>;
  longestRunningProcessor: Gauge<Label>;
  retries: Counter<Label>;
}

/** Per registry, the queues whose in-flight work the two time gauges report when scraped. */
const inFlightByRegistry = new WeakMap<Registry, Set<PrometheusWorkQueueMetrics>>();

function inFlightOn(registry: Registry): Set<PrometheusWorkQueueMetrics> {
  let set = inFlightByRegistry.get(registry);
  if (!set) inFlightByRegistry.set(registry, (set = new Set()));
  return set;
}

function families(registry: Registry): Families {
  const labelNames = ['name'] as const;
  const inFlight = inFlightOn(registry);
  const counter = (name: string, help: string): Counter<Label> =>
    counterOn(registry, { name, help, labelNames });
  const gauge = (name: string, help: string, collect?: () => void): Gauge<Label> =>
    gaugeOn(registry, { name, help, labelNames, ...(collect && { collect }) });
  const histogram = (name: string, help: string): Histogram<Label> =>
    histogramOn(registry, { name, help, labelNames, buckets: durationBuckets });
  const n = workQueueMetricNames;
  return {
    adds: counter(n.adds, 'Total number of adds handled by workqueue'),
    depth: gauge(n.depth, 'Current depth of workqueue'),
    queueDuration: histogram(
      n.queueDuration,
      'How long in seconds an item stays in workqueue before being requested.',
    ),
    workDuration: histogram(n.workDuration, 'How long in seconds processing an item from workqueue takes.'),
    // The two in-flight gauges are computed when scraped (client-go refreshes them every 500 ms).
    unfinishedWork: gauge(
      n.unfinishedWork,
      "How many seconds of work has done that is in progress and hasn't been observed by work_duration. " +
        'Large values indicate stuck threads. One can deduce the number of stuck threads by observing the ' +
        'rate at which this increases.',
      () => {
        for (const queue of inFlight) queue.collect();
      },
    ),
    longestRunningProcessor: gauge(
      n.longestRunningProcessor,
      'How many seconds has the longest running processor for workqueue been running.',
      () => {
        for (const queue of inFlight) queue.collect();
      },
    ),
    retries: counter(n.retries, 'Total number of retries handled by workqueue'),
  };
}

/** A queue's metrics on a Registry; times are taken on `clock`. */
class PrometheusWorkQueueMetrics implements WorkQueueMetrics {
  readonly #clock: Clock;
  readonly #labels: Record<Label, string>;
  readonly #families: Families;
  readonly #inFlight: Set<PrometheusWorkQueueMetrics>;
  readonly #addTimes = new Map<unknown, number>();
  readonly #processingStart = new Map<unknown, number>();
  #shutDown = false;

  constructor(registry: Registry, name: string, clock: Clock) {
    this.#clock = clock;
    this.#labels = { name };
    this.#families = families(registry);
    this.#inFlight = inFlightOn(registry);
    this.#inFlight.add(this);
    // Series exist from the start, at zero, as with client-go.
    const f = this.#families;
    f.adds.inc(this.#labels, 0);
    f.retries.inc(this.#labels, 0);
    f.depth.inc(this.#labels, 0);
    f.queueDuration.zero(this.#labels);
    f.workDuration.zero(this.#labels);
  }

  add(key: unknown): void {
    this.#families.adds.inc(this.#labels);
    this.#families.depth.inc(this.#labels);
    if (!this.#addTimes.has(key)) this.#addTimes.set(key, this.#clock.now());
  }

  get(key: unknown): void {
    const now = this.#clock.now();
    this.#families.depth.dec(this.#labels);
    const added = this.#addTimes.get(key);
    if (added !== undefined) {
      this.#families.queueDuration.observe(this.#labels, (now - added) / 1000);
      this.#addTimes.delete(key);
    }
    this.#processingStart.set(key, now);
  }

  done(key: unknown): void {
    const started = this.#processingStart.get(key);
    if (started === undefined) return;
    this.#families.workDuration.observe(this.#labels, (this.#clock.now() - started) / 1000);
    this.#processingStart.delete(key);
  }

  retry(): void {
    this.#families.retries.inc(this.#labels);
  }

  shutDown(): void {
    this.#shutDown = true;
  }

  /** Sets the in-flight gauges; a queue shut down with nothing in flight reports zero, then leaves. */
  collect(): void {
    const now = this.#clock.now();
    let total = 0;
    let oldest = 0;
    for (const started of this.#processingStart.values()) {
      const age = (now - started) / 1000;
      total += age;
      if (age > oldest) oldest = age;
    }
    this.#families.unfinishedWork.set(this.#labels, total);
    this.#families.longestRunningProcessor.set(this.#labels, oldest);
    if (this.#shutDown && this.#processingStart.size === 0) this.#inFlight.delete(this);
  }
}

export interface WorkQueueMetricsOptions {
  registry: Registry;
  /** The `name` label; one per queue. */
  name: string;
  clock?: Clock;
}

/** Metrics for one queue on `registry`, creating them there unless already registered. */
export function workQueueMetrics(options: WorkQueueMetricsOptions): WorkQueueMetrics {
  return new PrometheusWorkQueueMetrics(options.registry, options.name, options.clock ?? realClock);
}
