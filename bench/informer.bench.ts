// Informer initial sync of N ConfigMaps on a real control plane: time to sync and
// memory per cached object. Run: node --expose-gc bench/informer.bench.ts [N] [runs]
import { ControlPlane } from '@bindery/controlplane';
import { KubeClient, SharedInformer } from '@bindery/kube';
import { median, report } from './stats.ts';

const count = Number(process.argv[2] ?? 10_000);
const runs = Number(process.argv[3] ?? 5);
const ns = 'bench-informer';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc so memory figures are settled');

const cp = new ControlPlane();
await cp.start();
const client = new KubeClient({ kubeConfig: cp.kubeConfig() });
try {
  await client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  const seeded = Date.now();
  const data = { 'app.properties': 'a=1\nb=2\nc=3\n', mode: 'bench' };
  for (let i = 0; i < count; i += 100) {
    await Promise.all(
      Array.from({ length: Math.min(100, count - i) }, (_, j) =>
        client.create({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: `cm-${i + j}`, namespace: ns, labels: { app: `app-${(i + j) % 50}` } },
          data,
        }),
      ),
    );
  }
  console.log(`seeded ${count} ConfigMaps in ${((Date.now() - seeded) / 1000).toFixed(1)} s`);

  const syncMs: number[] = [];
  const perObjectBytes: number[] = [];
  const rssMb: number[] = [];
  for (let run = 1; run <= runs; run++) {
    gc();
    const heapBefore = process.memoryUsage().heapUsed;
    const stop = new AbortController();
    const informer = new SharedInformer({
      client,
      type: { apiVersion: 'v1', kind: 'ConfigMap' },
      namespace: ns,
    });
    const started = performance.now();
    void informer.run(stop.signal);
    await informer.waitForSync();
    const elapsed = performance.now() - started;
    gc();
    const heapAfter = process.memoryUsage().heapUsed;
    const rss = process.memoryUsage().rss / 2 ** 20;
    const size = informer.indexer.size;
    stop.abort();
    if (size !== count) throw new Error(`cached ${size} objects, expected ${count}`);
    syncMs.push(elapsed);
    perObjectBytes.push((heapAfter - heapBefore) / size);
    rssMb.push(rss);
    console.log(
      `run ${run}: sync ${elapsed.toFixed(0)} ms, heap ${((heapAfter - heapBefore) / 2 ** 20).toFixed(1)} MiB ` +
        `(${((heapAfter - heapBefore) / size).toFixed(0)} B/object), RSS ${rss.toFixed(0)} MiB`,
    );
  }
  report(`informer initial sync of ${count} ConfigMaps`, [
    ['sync time (ms)', median(syncMs)],
    ['heap per cached object (bytes)', median(perObjectBytes)],
    ['process RSS after sync (MiB)', median(rssMb)],
  ]);
} finally {
  await client.close();
  await cp.stop();
}
