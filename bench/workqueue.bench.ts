// Work queue throughput: keys per second through add → get → done, with async workers that yield
// once per item (as a reconcile that awaits would), no metrics unless said. In-process, no I/O.
// Each figure is given per second of wall time and per second of this process's CPU time (user +
// system): on a shared machine the second one is the one that means something.
// Run: node bench/workqueue.bench.ts [runs]
import { Registry } from 'prom-client';
import { FakeClock } from '../packages/kube/src/clock.ts';
import { WorkQueue } from '../packages/kube/src/workqueue.ts';
import { machine, median } from './stats.ts';

interface Figures {
  /** Items handed to workers (and done). */
  processed: number;
  /** Calls to add / addAfter. */
  adds: number;
  /** Wall time. */
  ms: number;
  /** CPU time of the process (user + system). */
  cpuMs: number;
}

/** Runs `body`, timing it in wall and CPU time. */
async function timed(body: () => Promise<Omit<Figures, 'ms' | 'cpuMs'>>): Promise<Figures> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const figures = await body();
  const ms = performance.now() - started;
  const used = process.cpuUsage(cpu);
  return { ...figures, ms, cpuMs: (used.user + used.system) / 1000 };
}

/** Workers loop get → (one await) → done until the queue is shut down and empty. */
function startWorkers(queue: WorkQueue, workers: number): { processed: () => number; done: Promise<void> } {
  let processed = 0;
  const worker = async (): Promise<void> => {
    for (let key = await queue.get(); key !== undefined; key = await queue.get()) {
      await Promise.resolve();
      processed++;
      queue.done(key);
    }
  };
  const done = Promise.all(Array.from({ length: workers }, worker)).then(() => undefined);
  return { processed: () => processed, done };
}

const keysFor = (count: number): string[] =>
  Array.from({ length: count }, (_, i) => `ns-${i % 100}/name-${i}`);

/** `count` distinct keys, all added at once while the workers wait. */
function distinct(count: number, workers: number, metrics?: Registry): Promise<Figures> {
  const keys = keysFor(count);
  const queue = new WorkQueue(metrics ? { name: 'bench', metrics } : {});
  return timed(async () => {
    const run = startWorkers(queue, workers);
    for (const key of keys) queue.add(key);
    queue.shutDown(); // workers drain what is queued, then stop
    await run.done;
    if (run.processed() !== count) throw new Error(`processed ${run.processed()} of ${count}`);
    return { processed: run.processed(), adds: count };
  });
}

/**
 * `rounds` passes over the same `count` keys, adding 100 keys between yields to the workers, so that
 * many adds find their key still queued (dedup) or in flight (dirty, requeued after done).
 */
function readded(count: number, rounds: number, workers: number): Promise<Figures> {
  const keys = keysFor(count);
  const queue = new WorkQueue();
  return timed(async () => {
    const run = startWorkers(queue, workers);
    for (let round = 0; round < rounds; round++) {
      for (let i = 0; i < count; i += 100) {
        for (let j = i; j < i + 100 && j < count; j++) queue.add(keys[j] as string);
        await Promise.resolve();
      }
    }
    queue.shutDown();
    await run.done;
    return { processed: run.processed(), adds: count * rounds };
  });
}

/** `count` distinct keys through addAfter with spread delays (the heap), released by a fake clock. */
function delayed(count: number, workers: number): Promise<Figures> {
  const clock = new FakeClock();
  const queue = new WorkQueue({ clock });
  const keys = keysFor(count);
  // A fixed spread of delays over 1 ms – 60 s, in no particular order.
  const delays = keys.map((_, i) => ((i * 2_654_435_761) % 60_000) + 1);
  return timed(async () => {
    const run = startWorkers(queue, workers);
    for (let i = 0; i < count; i++) queue.addAfter(keys[i] as string, delays[i] as number);
    for (let t = 0; t < 60_000; t += 100) {
      clock.advance(100);
      await Promise.resolve();
    }
    queue.shutDown();
    await run.done;
    if (run.processed() !== count) throw new Error(`processed ${run.processed()} of ${count}`);
    return { processed: run.processed(), adds: count };
  });
}

const runs = Number(process.argv[2] ?? 5);
const scenarios: Array<[string, () => Promise<Figures>]> = [
  ['200,000 distinct keys, 1 worker', () => distinct(200_000, 1)],
  ['200,000 distinct keys, 4 workers', () => distinct(200_000, 4)],
  ['200,000 distinct keys, 4 workers, metrics on', () => distinct(200_000, 4, new Registry())],
  ['10,000 keys re-added 100×, 1 worker', () => readded(10_000, 100, 1)],
  ['10,000 keys re-added 100×, 4 workers', () => readded(10_000, 100, 4)],
  ['200,000 keys via addAfter (1 ms–60 s, fake clock), 4 workers', () => delayed(200_000, 4)],
];

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const perSecond = (count: number, ms: number): number => (count / ms) * 1000;

console.log(`work queue throughput — ${machine()}; ${runs} runs after one warm-up each`);
// Warm every path up first, then take the runs round-robin so that a change in the machine's load
// spreads over all scenarios instead of landing on one.
for (const [, scenario] of scenarios) await scenario();
const results = scenarios.map((): Figures[] => []);
for (let i = 0; i < runs; i++) {
  for (const [n, [, scenario]] of scenarios.entries()) results[n]?.push(await scenario());
}
const rows: string[] = [];
for (const [n, [title]] of scenarios.entries()) {
  const figures = results[n] ?? [];
  console.log(`\n${title}`);
  for (const r of figures) {
    console.log(
      `  wall ${r.ms.toFixed(0)} ms, cpu ${r.cpuMs.toFixed(0)} ms: ` +
        `${fmt(perSecond(r.processed, r.ms))} keys/s wall, ${fmt(perSecond(r.processed, r.cpuMs))} keys/s cpu` +
        (r.adds === r.processed
          ? ''
          : `; ${fmt(perSecond(r.adds, r.cpuMs))} adds/s cpu, ${r.processed} processed`),
    );
  }
  const wall = median(figures.map((r) => perSecond(r.processed, r.ms)));
  const cpu = median(figures.map((r) => perSecond(r.processed, r.cpuMs)));
  const deduped = figures[0]?.adds !== figures[0]?.processed;
  const adds = median(figures.map((r) => perSecond(r.adds, r.cpuMs)));
  const processed = median(figures.map((r) => r.processed));
  console.log(`  median: ${fmt(wall)} keys/s wall, ${fmt(cpu)} keys/s cpu`);
  rows.push(
    `| ${title} | ${fmt(cpu)} | ${fmt(wall)} | ${deduped ? `${fmt(adds)} adds/s cpu; ${fmt(processed)} processed` : ''} |`,
  );
}
console.log(`\n| scenario | keys/s per CPU second | keys/s wall | |\n|---|---|---|---|`);
for (const row of rows) console.log(row);
