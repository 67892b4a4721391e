// Informer initial sync of N ConfigMaps on a real control plane: time to sync, heap per
// cached object, and the RSS of a process that does nothing else. The seeding runs in
// this process; each measured run is a fresh child process, so its RSS is the informer's.
// Run: node bench/informer.bench.ts [N] [runs]
import { execFileSync } from 'node:child_process';
import { KubeClient, KubeConfig, SharedInformer } from '@bindery/kube';
import { withSeededControlPlane } from './fixtures.ts';
import { median, report } from './stats.ts';

const ns = 'bench-informer';

interface RunFigures {
  syncMs: number;
  heapPerObject: number;
  rssMiB: number;
  baselineRssMiB: number;
}

if (process.argv[2] === '--child') {
  // One measured run: sync, settle, report as JSON on stdout.
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('the child runs with --expose-gc');
  const client = new KubeClient({ kubeConfig: KubeConfig.fromFile(process.argv[3] as string) });
  gc();
  const baseline = process.memoryUsage();
  const stop = new AbortController();
  const informer = new SharedInformer({
    client,
    type: { apiVersion: 'v1', kind: 'ConfigMap' },
    namespace: ns,
  });
  const started = performance.now();
  void informer.run(stop.signal);
  await informer.waitForSync();
  const syncMs = performance.now() - started;
  gc();
  const after = process.memoryUsage();
  stop.abort();
  await client.close();
  const figures: RunFigures = {
    syncMs,
    heapPerObject: (after.heapUsed - baseline.heapUsed) / informer.indexer.size,
    rssMiB: after.rss / 2 ** 20,
    baselineRssMiB: baseline.rss / 2 ** 20,
  };
  console.log(JSON.stringify({ ...figures, size: informer.indexer.size }));
  process.exit(0);
}

const count = Number(process.argv[2] ?? 10_000);
const runs = Number(process.argv[3] ?? 5);
await withSeededControlPlane(ns, count, (kubeconfigPath) => {
  const results: RunFigures[] = [];
  for (let run = 1; run <= runs; run++) {
    const out = execFileSync(
      process.execPath,
      ['--expose-gc', import.meta.filename, '--child', kubeconfigPath],
      {
        encoding: 'utf8',
      },
    );
    const r = JSON.parse(out.trim().split('\n').at(-1) as string) as RunFigures & { size: number };
    if (r.size !== count) throw new Error(`cached ${r.size} objects, expected ${count}`);
    results.push(r);
    console.log(
      `run ${run}: sync ${r.syncMs.toFixed(0)} ms, ${r.heapPerObject.toFixed(0)} B heap/object, ` +
        `RSS ${r.baselineRssMiB.toFixed(0)} → ${r.rssMiB.toFixed(0)} MiB`,
    );
  }
  report(`informer initial sync of ${count} ConfigMaps`, [
    ['sync time (ms)', median(results.map((r) => r.syncMs))],
    ['heap per cached object (bytes)', median(results.map((r) => r.heapPerObject))],
    ['RSS before the informer (MiB)', median(results.map((r) => r.baselineRssMiB))],
    ['RSS after sync (MiB)', median(results.map((r) => r.rssMiB))],
    [
      'RSS per cached object (bytes)',
      median(results.map((r) => ((r.rssMiB - r.baselineRssMiB) * 2 ** 20) / count)),
    ],
  ]);
});
