// Reconcile throughput of a Manager + Controller on a real control plane: N ConfigMaps
// exist before the manager starts; the bench times how long it takes until every one
// of them has been reconciled once. The reconciler is a ResourceReconciler around a
// SyncReconciler that only counts (reads come from the informer cache), and, to show
// what workers are for, a variant whose sync makes one GET to the API server.
// Seeding runs in this process; each measured run is a fresh child process, so its
// RSS and CPU time are the manager's.
// Run: node bench/reconcile.bench.ts [N] [runs]   (BENCH_CPU_PROF=<dir> writes CPU profiles)
import { execFileSync } from 'node:child_process';
import { KubeClient } from '@bindery/kube';
import type { KubeObject } from '@bindery/kube';
import { Controller, Manager, ResourceReconciler, SyncReconciler } from '@bindery/runtime';
import { pino } from 'pino';
import { withSeededControlPlane } from './fixtures.ts';
import { machine, median } from './stats.ts';

const ns = 'bench-reconcile';
const configMapType = { apiVersion: 'v1', kind: 'ConfigMap' };

type Kind = 'noop' | 'get';

interface Scenario {
  kind: Kind;
  workers: number;
}

interface RunFigures {
  /** `manager.start()` → the N-th distinct ConfigMap reconciled: list, sync and every reconcile. */
  totalMs: number;
  /** `manager.start()` → the first reconcile: discovery, the list, the informer's sync. */
  firstMs: number;
  /** The first reconcile → the N-th: the work queue and the reconciles alone. */
  reconcileMs: number;
  /** CPU time (user + system) of the process over the reconcile phase. */
  reconcileCpuMs: number;
  /** Reconciles of the bench's ConfigMaps, counting repeats (must be N: nothing changes them). */
  calls: number;
  baselineRssMiB: number;
  rssMiB: number;
}

if (process.argv[2] === '--child') {
  const [kubeconfig, kind, workers, count] = process.argv.slice(3) as [string, Kind, string, string];
  console.log(JSON.stringify(await measure(kubeconfig, { kind, workers: Number(workers) }, Number(count))));
  process.exit(0);
}

/** One measured run, in a fresh process. */
async function measure(kubeconfig: string, scenario: Scenario, count: number): Promise<RunFigures> {
  const baselineRss = process.memoryUsage().rss;
  const client = KubeClient.fromKubeConfig({ kubeconfig });
  const manager = new Manager({
    client,
    log: pino({ level: 'silent' }),
    // As in production: metrics and probes on (every reconcile updates the metrics).
    metrics: { host: '127.0.0.1', port: 0 },
    health: { host: '127.0.0.1', port: 0 },
  });
  const seen = new Set<string>();
  let calls = 0;
  let first: { at: number; cpu: NodeJS.CpuUsage } | undefined;
  const { promise: allSeen, resolve } = Promise.withResolvers<{ at: number; cpu: NodeJS.CpuUsage }>();
  const sync = new SyncReconciler<KubeObject>({
    name: 'Count',
    async sync(ctx, cm) {
      if (cm.metadata.namespace !== ns) return;
      first ??= { at: performance.now(), cpu: process.cpuUsage() };
      calls++;
      if (scenario.kind === 'get') {
        await ctx.config.apiReader.get({ ...configMapType, namespace: ns, name: cm.metadata.name ?? '' });
      }
      seen.add(cm.metadata.name ?? '');
      if (seen.size === count) resolve({ at: performance.now(), cpu: process.cpuUsage() });
    },
  });
  manager.add(
    new Controller({
      name: 'bench',
      for: configMapType,
      reconciler: new ResourceReconciler({ name: 'Count', type: configMapType, reconciler: sync }),
      workers: scenario.workers,
    }),
  );
  const stop = new AbortController();
  const started = performance.now();
  const running = manager.start(stop.signal);
  const done = await allSeen;
  const rss = process.memoryUsage().rss;
  stop.abort();
  await running;
  await client.close();
  if (!first) throw new Error('no reconcile');
  const cpuMicros = done.cpu.user - first.cpu.user + (done.cpu.system - first.cpu.system);
  return {
    totalMs: done.at - started,
    firstMs: first.at - started,
    reconcileMs: done.at - first.at,
    reconcileCpuMs: cpuMicros / 1000,
    calls,
    baselineRssMiB: baselineRss / 2 ** 20,
    rssMiB: rss / 2 ** 20,
  };
}

const count = Number(process.argv[2] ?? 5_000);
const runs = Number(process.argv[3] ?? 3);
const scenarios: Scenario[] = [
  { kind: 'noop', workers: 1 },
  { kind: 'noop', workers: 4 },
  { kind: 'get', workers: 1 },
  { kind: 'get', workers: 4 },
];
const label = (s: Scenario): string =>
  `${s.kind === 'noop' ? 'no-op' : 'one GET'}, ${s.workers} worker${s.workers === 1 ? '' : 's'}`;

await withSeededControlPlane(ns, count, (kubeconfigPath) => {
  // Round-robin, so that a slow spell of a shared machine spreads over every scenario.
  const results = new Map<Scenario, RunFigures[]>(scenarios.map((s) => [s, []]));
  for (let run = 1; run <= runs; run++) {
    for (const scenario of scenarios) {
      const out = execFileSync(
        process.execPath,
        [
          // BENCH_CPU_PROF=<dir>: a V8 CPU profile of each measured process.
          ...(process.env['BENCH_CPU_PROF']
            ? ['--cpu-prof', `--cpu-prof-dir=${process.env['BENCH_CPU_PROF']}`]
            : []),
          import.meta.filename,
          '--child',
          kubeconfigPath,
          scenario.kind,
          String(scenario.workers),
          String(count),
        ],
        { encoding: 'utf8' },
      );
      const r = JSON.parse(out.trim().split('\n').at(-1) as string) as RunFigures;
      if (r.calls !== count) throw new Error(`${label(scenario)}: ${r.calls} reconciles, expected ${count}`);
      results.get(scenario)?.push(r);
      console.log(
        `run ${run}, ${label(scenario)}: start → all ${r.totalMs.toFixed(0)} ms ` +
          `(first reconcile at ${r.firstMs.toFixed(0)} ms, then ${r.reconcileMs.toFixed(0)} ms, ` +
          `${r.reconcileCpuMs.toFixed(0)} ms CPU), RSS ${r.baselineRssMiB.toFixed(0)} → ${r.rssMiB.toFixed(0)} MiB`,
      );
    }
  }

  console.log(`\nreconcile throughput over ${count} ConfigMaps — median of ${runs} runs; ${machine()}\n`);
  console.log(
    '| scenario | reconciles/s, start → all | reconciles/s, first → last | CPU µs per reconcile | RSS after (MiB) |',
  );
  console.log('|---|---|---|---|---|');
  for (const [scenario, rs] of results) {
    const perSecond = (ms: number): string => Math.round((count / ms) * 1000).toLocaleString('en');
    console.log(
      `| ${label(scenario)} | ${perSecond(median(rs.map((r) => r.totalMs)))} | ` +
        `${perSecond(median(rs.map((r) => r.reconcileMs)))} | ` +
        `${((median(rs.map((r) => r.reconcileCpuMs)) * 1000) / count).toFixed(0)} | ` +
        `${median(rs.map((r) => r.rssMiB)).toFixed(0)} |`,
    );
  }
});
